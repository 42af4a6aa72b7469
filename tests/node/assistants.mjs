// The Node openai SDK, unmodified, against threadrunner: a server tool's declaration survives a round trip,
// runs.stream relays the reply token by token, a client tool is answered with submitToolOutputsStream, and a
// streamed file_search shows as one from its creation, its citation in the text delta that completes it.
// Prints one JSON line of what it saw; tests/e2e/test_node_sdk.py checks it.
import OpenAI, { toFile } from "openai";

const client = new OpenAI({ baseURL: process.env.THREADRUNNER_URL, apiKey: process.env.THREADRUNNER_API_KEY });
const balance = {
  type: "function",
  function: { name: "get_account_balance", description: "The user's account balance.", parameters: { type: "object", properties: {} } },
};

const created = await client.beta.assistants.create({
  model: "gpt-4.1-mini",
  tools: [{ type: "function", function: { name: "threadrunner:get_weather" } }, balance],
});
const retrieved = await client.beta.assistants.retrieve(created.id);
const updated = await client.beta.assistants.update(created.id, { tools: retrieved.tools });

async function streamed(stream) {
  const seen = { events: [], text: "", created: [], annotations: [] };
  stream.on("event", (event) => seen.events.push(event.event));
  stream.on("textDelta", (delta) => {
    seen.text += delta.value ?? "";
    seen.annotations.push(...(delta.annotations ?? []));
  });
  stream.on("toolCallCreated", (call) => seen.created.push(call.type));
  seen.run = await stream.finalRun();
  return seen;
}

const weatherThread = await client.beta.threads.create({ messages: [{ role: "user", content: "What's the weather in Oslo?" }] });
const weather = await streamed(client.beta.threads.runs.stream(weatherThread.id, { assistant_id: created.id }));
const weatherReply = (await client.beta.threads.messages.list(weatherThread.id, { order: "desc", limit: 1 })).data[0];

const balanceThread = await client.beta.threads.create({ messages: [{ role: "user", content: "What is my account balance?" }] });
const asked = await streamed(client.beta.threads.runs.stream(balanceThread.id, { assistant_id: created.id }));
const [call] = asked.run.required_action.submit_tool_outputs.tool_calls;
const answered = await streamed(
  client.beta.threads.runs.submitToolOutputsStream(asked.run.id, {
    thread_id: balanceThread.id,
    tool_outputs: [{ tool_call_id: call.id, output: '{"balance": "7.00 EUR"}' }],
  }),
);

const handbook = await client.files.create({
  file: await toFile(Buffer.from("In fog the keeper sounds the horn every thirty seconds."), "handbook.txt"),
  purpose: "assistants",
});
const store = await client.vectorStores.create({ name: "Handbook", file_ids: [handbook.id] });
while ((await client.vectorStores.retrieve(store.id)).status !== "completed") {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const librarian = await client.beta.assistants.create({
  model: "gpt-4.1-mini",
  tools: [{ type: "file_search" }],
  tool_resources: { file_search: { vector_store_ids: [store.id] } },
});
const searchThread = await client.beta.threads.create({ messages: [{ role: "user", content: "How often is the horn sounded in fog?" }] });
const search = await streamed(client.beta.threads.runs.stream(searchThread.id, { assistant_id: librarian.id }));

console.log(
  JSON.stringify({
    declared: updated.tools.map((tool) => tool.function?.name ?? tool.type),
    request_id: retrieved._request_id ?? null,
    weather: { events: weather.events, status: weather.run.status, text: weather.text, stored: weatherReply.content[0].text.value },
    asked: { last: asked.events.at(-1), status: asked.run.status, call: call.function.name },
    answered: { last: answered.events.at(-1), status: answered.run.status, text: answered.text },
    search: { file_id: handbook.id, status: search.run.status, created: search.created, text: search.text, annotations: search.annotations },
  }),
);
