// threadrunner console (docs/console.md): reads the project's objects from /v1 with the key its user signs in
// with. Everything the API returns is untrusted text: it reaches the page only as text nodes (createElement,
// append, textContent), never as markup.
"use strict";

(() => {
  const KEY = "threadrunner.apiKey";
  const PAGE = 20;

  // ---- the key: this tab only ------------------------------------------------------------------------------

  const storedKey = () => sessionStorage.getItem(KEY);

  // ---- elements ----------------------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  /** An element with properties and children; strings become text nodes, never markup. */
  function h(tag, props, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") element.className = value;
      else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      element.append(child instanceof Node ? child : String(child));
    }
    return element;
  }

  /** A link to a route of the console; ids are encoded, so data never becomes a URL of its own. */
  const link = (parts, text) => h("a", { href: route(parts) }, text);
  const route = (parts) => "#/" + parts.map(encodeURIComponent).join("/");

  // ---- the API -----------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, params, key) {
    const url = new URL("/v1" + path, window.location.origin);
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, value);
    }
    const response = await fetch(url, {
      headers: { Authorization: "Bearer " + (key || storedKey()), "OpenAI-Beta": "assistants=v2" },
      cache: "no-store",
      credentials: "omit",
    });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const error = (body && body.error) || {};
      throw new ApiError(response.status, error.message || `The API answered ${response.status}.`);
    }
    return body;
  }

  const path = (...parts) => "/" + parts.map(encodeURIComponent).join("/");

  // ---- formatting --------------------------------------------------------------------------------------------

  const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "—");

  function duration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
    return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
  }

  const status = (value) => h("span", { class: `status status-${value}` }, value);

  function pretty(text) {
    if (text === null || text === undefined) return "(none yet)";
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) {
      return String(text);
    }
  }

  const facts = (pairs) =>
    h(
      "dl",
      { class: "facts" },
      pairs.filter(Boolean).map(([name, value]) => h("div", {}, h("dt", {}, name), h("dd", {}, value))),
    );

  function metadata(values) {
    const entries = Object.entries(values || {});
    return entries.length ? entries.map(([name, value]) => `${name}: ${value}`).join(", ") : "—";
  }

  function messageText(message) {
    return (message.content || [])
      .map((part) => {
        if (part.type === "text") return part.text.value;
        if (part.type === "image_file") return `[image file ${part.image_file.file_id}]`;
        if (part.type === "image_url") return `[image ${part.image_url.url}]`;
        return `[${part.type}]`;
      })
      .join("\n");
  }

  // ---- views -------------------------------------------------------------------------------------------------

  const view = () => $("view");

  let shown = 0;

  /** What a view shows with: a view the user has left meanwhile (a newer render began) shows nothing. */
  function painter() {
    const mine = ++shown;
    return (...children) => {
      if (mine === shown) view().replaceChildren(...children.flat());
    };
  }

  function problem(error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut(`Signed out: the API refused the key (${error.message})`);
      return h("p", {}, "");
    }
    const prefix = error instanceof ApiError && error.status === 404 ? "Not found: " : "Error: ";
    return h("p", { class: "error", role: "alert" }, prefix + error.message);
  }

  /** Pager links of a list ordered newest first: "Newer" pages back from its first id, "Older" on from its last.
   * ``has_more`` says whether objects lie beyond the page in the direction it was read. */
  function pager(base, list, query) {
    const backwards = Boolean(query.before);
    const hasNewer = backwards ? list.has_more : Boolean(query.after);
    const hasOlder = backwards || list.has_more;
    const to = (cursor, id) =>
      h("a", { href: `${base}?${cursor}=${encodeURIComponent(id)}` }, cursor === "before" ? "← Newer" : "Older →");
    return h(
      "nav",
      { class: "pager" },
      hasNewer && list.first_id ? to("before", list.first_id) : null,
      hasOlder && list.last_id ? to("after", list.last_id) : null,
    );
  }

  async function threadsView(show, query) {
    show(h("h1", {}, "Threads"), h("p", { class: "hint" }, "Loading…"));
    const list = await api("/threads", { limit: PAGE, order: "desc", after: query.after, before: query.before });
    const rows = list.data.map((thread) =>
      h(
        "tr",
        {},
        h("td", {}, link(["threads", thread.id], thread.id)),
        h("td", {}, when(thread.created_at)),
        h("td", {}, metadata(thread.metadata)),
      ),
    );
    show(
      h("h1", {}, "Threads"),
      h(
        "p",
        { class: "hint" },
        "Newest first. A user's thread is reachable from the user's id (Open user, above).",
      ),
      rows.length
        ? h(
            "table",
            { class: "list" },
            h("thead", {}, h("tr", {}, h("th", {}, "Thread"), h("th", {}, "Created"), h("th", {}, "Metadata"))),
            h("tbody", {}, rows),
          )
        : h("p", {}, "No threads."),
      pager("#/threads", list, query),
    );
  }

  async function assistantsView(show, query) {
    show(h("h1", {}, "Assistants"), h("p", { class: "hint" }, "Loading…"));
    const list = await api("/assistants", { limit: PAGE, order: "desc", after: query.after, before: query.before });
    const tools = (assistant) =>
      (assistant.tools || []).map((tool) => (tool.type === "function" ? tool.function.name : tool.type)).join(", ") ||
      "—";
    const rows = list.data.map((assistant) =>
      h(
        "tr",
        {},
        h("td", { class: "mono" }, assistant.id),
        h("td", {}, assistant.name || "—"),
        h("td", {}, assistant.model),
        h("td", {}, tools(assistant)),
        h("td", {}, when(assistant.created_at)),
      ),
    );
    show(
      h("h1", {}, "Assistants"),
      rows.length
        ? h(
            "table",
            { class: "list" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Assistant", "Name", "Model", "Tools", "Created"].map((name) => h("th", {}, name)),
              ),
            ),
            h("tbody", {}, rows),
          )
        : h("p", {}, "No assistants."),
      pager("#/assistants", list, query),
    );
  }

  async function userView(show, userId) {
    show(h("h1", {}, "User"), h("p", { class: "hint" }, "Loading…"));
    const user = await api(path("users", userId));
    show(
      h("h1", {}, "User ", h("span", { class: "mono" }, user.id)),
      facts([
        ["Thread", link(["threads", user.thread_id], user.thread_id)],
        ["First message", when(user.created_at)],
        [
          "Tokens",
          `${user.usage.total_tokens} (${user.usage.prompt_tokens} prompt, ${user.usage.completion_tokens} completion)`,
        ],
      ]),
    );
  }

  function messageItem(message) {
    return h(
      "li",
      { class: `message role-${message.role}` },
      h(
        "div",
        { class: "message-head" },
        h("strong", {}, message.role),
        " · ",
        when(message.created_at),
        message.run_id ? [" · ", link(["threads", message.thread_id, "runs", message.run_id], message.run_id)] : null,
        message.status && message.status !== "completed" ? [" · ", status(message.status)] : null,
        h("span", { class: "mono faint" }, message.id),
      ),
      h("div", { class: "message-text" }, messageText(message)),
    );
  }

  function runItem(run, threadId) {
    const ended = run.completed_at || run.failed_at || run.cancelled_at;
    const took = ended && run.started_at ? duration((ended - run.started_at) * 1000) : "—";
    return h(
      "tr",
      {},
      h("td", {}, link(["threads", threadId, "runs", run.id], run.id)),
      h("td", {}, status(run.status)),
      h("td", {}, run.model),
      h("td", {}, took),
      h("td", {}, run.usage ? String(run.usage.total_tokens) : "—"),
    );
  }

  /** A list that grows by pages, newest first: its "Show older" button, and the load of its first page. */
  function growing(container, fetchPage, render) {
    let after;
    const more = h("button", { type: "button", class: "more", hidden: true }, "Show older");
    const load = async () => {
      more.disabled = true;
      const list = await fetchPage(after);
      container.append(...list.data.map(render));
      after = list.last_id;
      more.hidden = !list.has_more;
      more.disabled = false;
    };
    more.addEventListener("click", () => load().catch((error) => more.replaceWith(problem(error))));
    return { more, loaded: load() };
  }

  async function threadView(show, threadId) {
    show(h("h1", {}, "Thread"), h("p", { class: "hint" }, "Loading…"));
    const thread = await api(path("threads", threadId));
    const messages = h("ol", { class: "messages" });
    const runs = h("tbody", {});
    const olderMessages = growing(
      messages,
      (after) => api(path("threads", threadId, "messages"), { limit: PAGE, order: "desc", after }),
      messageItem,
    );
    const olderRuns = growing(
      runs,
      (after) => api(path("threads", threadId, "runs"), { limit: PAGE, order: "desc", after }),
      (run) => runItem(run, threadId),
    );
    show(
      h("h1", {}, "Thread ", h("span", { class: "mono" }, thread.id)),
      facts([
        ["Created", when(thread.created_at)],
        ["Metadata", metadata(thread.metadata)],
      ]),
      h(
        "div",
        { class: "columns" },
        h(
          "section",
          {},
          h("h2", {}, "Messages"),
          h("p", { class: "hint" }, "Newest first."),
          messages,
          olderMessages.more,
        ),
        h(
          "section",
          {},
          h("h2", {}, "Runs"),
          h(
            "table",
            { class: "list" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Run", "Status", "Model", "Took", "Tokens"].map((name) => h("th", {}, name)),
              ),
            ),
            runs,
          ),
          olderRuns.more,
        ),
      ),
    );
    await Promise.all([olderMessages.loaded, olderRuns.loaded]);
  }

  // ---- conversations (the Responses API's state) -----------------------------------------------------------

  async function conversationsView(show, query) {
    show(h("h1", {}, "Conversations"), h("p", { class: "hint" }, "Loading…"));
    const list = await api("/conversations", { limit: PAGE, order: "desc", after: query.after, before: query.before });
    const rows = list.data.map((conversation) =>
      h(
        "tr",
        {},
        h("td", {}, link(["conversations", conversation.id], conversation.id)),
        h("td", {}, when(conversation.created_at)),
        h("td", {}, metadata(conversation.metadata)),
      ),
    );
    show(
      h("h1", {}, "Conversations"),
      h("p", { class: "hint" }, "Newest first (threads, which read as conversations too, are listed under Threads)."),
      rows.length
        ? h(
            "table",
            { class: "list" },
            h("thead", {}, h("tr", {}, h("th", {}, "Conversation"), h("th", {}, "Created"), h("th", {}, "Metadata"))),
            h("tbody", {}, rows),
          )
        : h("p", {}, "No conversations."),
      pager("#/conversations", list, query),
    );
  }

  /** What an item of a conversation says, as text: a message's parts, a call and its arguments, an output. */
  function itemText(item) {
    if (item.type === "message")
      return (item.content || [])
        .map((part) => (typeof part.text === "string" ? part.text : `[${part.type}]`))
        .join("\n");
    if (item.type === "function_call") return `${item.name}(${item.arguments})`;
    if (item.type === "function_call_output") return typeof item.output === "string" ? item.output : "[parts]";
    return `[${item.type}]`;
  }

  function conversationItem(item) {
    const who = item.type === "message" ? item.role : item.type;
    return h(
      "li",
      { class: `message role-${item.type === "message" ? item.role : "tool"}` },
      h("div", { class: "message-head" }, h("strong", {}, who), h("span", { class: "mono faint" }, item.id)),
      h("div", { class: "message-text" }, itemText(item)),
    );
  }

  async function conversationView(show, conversationId) {
    show(h("h1", {}, "Conversation"), h("p", { class: "hint" }, "Loading…"));
    const conversation = await api(path("conversations", conversationId));
    const items = h("ol", { class: "messages" });
    const older = growing(
      items,
      (after) => api(path("conversations", conversationId, "items"), { limit: PAGE, order: "desc", after }),
      conversationItem,
    );
    show(
      h("h1", {}, "Conversation ", h("span", { class: "mono" }, conversation.id)),
      facts([
        ["Created", when(conversation.created_at)],
        ["Metadata", metadata(conversation.metadata)],
      ]),
      h("h2", {}, "Items"),
      h("p", { class: "hint" }, "Newest first."),
      items,
      older.more,
    );
    await older.loaded;
  }

  // ---- a run and its timeline ------------------------------------------------------------------------------

  async function allSteps(threadId, runId) {
    const steps = [];
    let after;
    for (;;) {
      const list = await api(path("threads", threadId, "runs", runId, "steps"), { limit: 100, order: "asc", after });
      steps.push(...list.data);
      if (!list.has_more) return steps;
      after = list.last_id;
    }
  }

  /** The names of the run's server tools: declared as "threadrunner:<name>", called by the model as <name>. */
  function serverTools(run) {
    return new Set(
      (run.tools || [])
        .filter((tool) => tool.type === "function" && tool.function.name.startsWith("threadrunner:"))
        .map((tool) => tool.function.name.slice("threadrunner:".length)),
    );
  }

  /** The timeline's bars, from the steps' timing extension: each model turn, each tool call, each wait. */
  function spans(run, steps) {
    const server = serverTools(run);
    const bars = [];
    const turns = new Set();
    const now = Date.now();
    for (const step of steps) {
      const timing = step.timing;
      if (!timing) continue;
      // One turn can make two steps (its text, then its calls): it is drawn once.
      if (timing.turn_started_at_ms && !turns.has(timing.turn_started_at_ms)) {
        turns.add(timing.turn_started_at_ms);
        bars.push({
          kind: "model",
          label: `Model turn ${turns.size}`,
          start: timing.turn_started_at_ms,
          end: timing.created_at_ms,
          step,
        });
      }
      if (step.type !== "tool_calls") continue;
      for (const call of step.step_details.tool_calls) {
        const name = call.type === "function" ? call.function.name : call.type;
        const side = call.type === "file_search" || call.execution || server.has(name) ? "server" : "client";
        const callTiming = call.timing || {};
        const answered = Boolean(callTiming.completed_at_ms);
        const live = run.status === "requires_action" || run.status === "in_progress";
        const start = callTiming.started_at_ms || (side === "client" ? timing.created_at_ms : null);
        // Unanswered: drawn up to now while the run goes on, else up to when its step ended (expired, failed).
        const end = answered ? callTiming.completed_at_ms : live ? now : timing.ended_at_ms;
        bars.push({
          kind: side,
          label: name,
          start,
          end,
          call,
          open: !answered && live,
          unanswered: !answered && !live,
        });
      }
    }
    // In the order things happened: a turn's server calls run before the client is asked for its own.
    return bars.filter((bar) => bar.start && bar.end).sort((one, other) => one.start - other.start);
  }

  function callDetails(bar) {
    const call = bar.call;
    const parts = [];
    if (call.type === "function") {
      parts.push(h("h4", {}, "Arguments"), h("pre", { class: "arguments" }, pretty(call.function.arguments)));
      parts.push(h("h4", {}, "Output"), h("pre", { class: "output" }, pretty(call.function.output)));
    } else {
      parts.push(h("h4", {}, "Results"), h("pre", { class: "output" }, JSON.stringify(call[call.type] || {}, null, 2)));
    }
    // The call's id and, for a server tool, how it ran (the execution extension), on one line.
    const ran = Object.entries(call.execution || {})
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([name, value]) => `${name} ${value}`);
    parts.push(h("p", { class: "faint mono ran" }, [call.id, ...ran].join(" · ")));
    return h("div", { class: "call-details" }, parts);
  }

  function barLabel(bar) {
    const took = duration(bar.end - bar.start);
    if (bar.kind === "model") {
      const usage = bar.step.usage;
      return [h("strong", {}, bar.label), ` · ${took}`, usage ? ` · ${usage.total_tokens} tokens` : ""];
    }
    if (bar.kind === "server") {
      const execution = bar.call.execution;
      const how = execution
        ? ` · ${execution.outcome}, ${execution.attempts} attempt${execution.attempts === 1 ? "" : "s"}`
        : "";
      return [h("strong", {}, bar.label), " · server tool · ", took, bar.unanswered ? " · no output" : how];
    }
    const waited = bar.open ? "waiting" : bar.unanswered ? "no output after" : "waited";
    return [h("strong", {}, bar.label), ` · client tool · ${waited} ${took}`];
  }

  function timelineView(run, steps) {
    const bars = spans(run, steps);
    if (!bars.length) {
      const why = steps.length
        ? "Its steps were recorded before millisecond timing was kept."
        : "The run has no steps yet.";
      return h("section", { class: "timeline" }, h("h2", {}, "Timeline"), h("p", { class: "hint" }, why));
    }
    const start = Math.min(...bars.map((bar) => bar.start));
    const end = Math.max(...bars.map((bar) => bar.end));
    const total = Math.max(end - start, 1);
    const track = (bar) => {
      const fill = h("span", { class: `bar bar-${bar.kind}${bar.open ? " bar-open" : ""}` });
      // Geometry through the CSSOM: the policy forbids style attributes, not this.
      fill.style.left = `${((bar.start - start) / total) * 100}%`;
      fill.style.width = `${((bar.end - bar.start) / total) * 100}%`;
      return h("span", { class: "track" }, fill);
    };
    const rows = bars.map((bar) => {
      const line = h("span", { class: "row-line" }, h("span", { class: "label" }, barLabel(bar)), track(bar));
      if (bar.kind === "model") return h("div", { class: "row row-model" }, line);
      return h("details", { class: `row row-${bar.kind}` }, h("summary", {}, line), callDetails(bar));
    });
    const ticks = h("span", { class: "track axis" });
    for (const share of [0, 0.25, 0.5, 0.75, 1]) {
      const tick = h("span", { class: "tick" }, duration(total * share));
      tick.style.left = `${share * 100}%`;
      ticks.append(tick);
    }
    const whole = { kind: "total", start, end };
    return h(
      "section",
      { class: "timeline", "aria-label": "Timeline" },
      h("h2", {}, "Timeline ", h("span", { class: "total" }, `total ${duration(total)}`)),
      h(
        "p",
        { class: "legend" },
        h("span", { class: "key key-model" }, "model turn"),
        h("span", { class: "key key-server" }, "server tool call"),
        h("span", { class: "key key-client" }, "wait for a client tool's output"),
        " Drawn to scale; gaps are the run loop's own work. Open a tool call for its arguments and output.",
      ),
      h("div", { class: "row row-axis" }, h("span", { class: "row-line" }, h("span", { class: "label" }), ticks)),
      rows,
      h(
        "div",
        { class: "row row-total" },
        h(
          "span",
          { class: "row-line" },
          h("span", { class: "label" }, h("strong", {}, "Total"), ` · ${duration(total)}`),
          track(whole),
        ),
      ),
    );
  }

  async function runView(show, threadId, runId) {
    show(h("h1", {}, "Run"), h("p", { class: "hint" }, "Loading…"));
    const [run, steps] = await Promise.all([api(path("threads", threadId, "runs", runId)), allSteps(threadId, runId)]);
    const ended = run.completed_at || run.failed_at || run.cancelled_at;
    const usage = run.usage;
    const error = run.last_error ? `${run.last_error.code}: ${run.last_error.message}` : null;
    show(
      h("p", { class: "crumbs" }, link(["threads", threadId], `← Thread ${threadId}`)),
      h("h1", {}, "Run ", h("span", { class: "mono" }, run.id), " ", status(run.status)),
      facts([
        ["Model", run.model],
        ["Assistant", h("span", { class: "mono" }, run.assistant_id)],
        ["Created", when(run.created_at)],
        ["Started", when(run.started_at)],
        ["Ended", when(ended)],
        [
          "Usage",
          usage ? `${usage.total_tokens} tokens (${usage.prompt_tokens} in, ${usage.completion_tokens} out)` : "—",
        ],
        ["Last error", error ? h("span", { class: "error-text" }, error) : "—"],
        run.incomplete_details ? ["Incomplete", run.incomplete_details.reason] : null,
        run.required_action
          ? [
              "Waiting for",
              run.required_action.submit_tool_outputs.tool_calls.map((call) => call.function.name).join(", "),
            ]
          : null,
      ]),
      timelineView(run, steps),
    );
  }

  // ---- sign-in, routing ------------------------------------------------------------------------------------

  function signedIn(key) {
    $("sign-in").hidden = true;
    $("nav").hidden = false;
    $("sign-out").hidden = false;
    $("who").textContent = `key …${key.slice(-4)}`;
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    $("nav").hidden = true;
    $("sign-out").hidden = true;
    $("who").textContent = "";
    view().replaceChildren();
    $("sign-in").hidden = false;
    const shown = $("sign-in-error");
    shown.textContent = message || "";
    shown.hidden = !message;
    $("api-key").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const key = $("api-key").value.trim();
    const shown = $("sign-in-error");
    shown.hidden = true;
    try {
      await api("/assistants", { limit: 1 }, key); // any read proves the key
    } catch (error) {
      shown.textContent =
        error instanceof ApiError && error.status === 401
          ? `Sign-in failed: the API refused this key. ${error.message}`
          : `Sign-in failed: ${error.message}`;
      shown.hidden = false;
      return;
    }
    sessionStorage.setItem(KEY, key);
    $("api-key").value = "";
    signedIn(key);
    if (!window.location.hash || window.location.hash === "#/") window.location.hash = "#/threads";
    else render();
  }

  function parsed() {
    const [where, search] = window.location.hash.replace(/^#\/?/, "").split("?");
    const parts = where.split("/").filter(Boolean).map(decodeURIComponent);
    return { parts, query: Object.fromEntries(new URLSearchParams(search || "")) };
  }

  async function render() {
    const key = storedKey();
    if (!key) return signOut();
    signedIn(key);
    const show = painter();
    try {
      const { parts, query } = parsed(); // a hand-made address may not decode
      if (parts[0] === "assistants") await assistantsView(show, query);
      else if (parts[0] === "conversations" && parts[1]) await conversationView(show, parts[1]);
      else if (parts[0] === "conversations") await conversationsView(show, query);
      else if (parts[0] === "users" && parts[1]) await userView(show, parts[1]);
      else if (parts[0] === "threads" && parts[1] && parts[2] === "runs" && parts[3])
        await runView(show, parts[1], parts[3]);
      else if (parts[0] === "threads" && parts[1]) await threadView(show, parts[1]);
      else await threadsView(show, query);
    } catch (error) {
      show(problem(error)); // nothing of what was asked for: only why
    }
  }

  function jump(form, input, where) {
    $(form).addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $(input).value.trim();
      if (value) window.location.hash = route(where(value));
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => signOut());
    jump("open-thread", "open-thread-id", (id) => ["threads", id]);
    jump("open-user", "open-user-id", (id) => ["users", id]);
    window.addEventListener("hashchange", render);
    render();
  });
})();
