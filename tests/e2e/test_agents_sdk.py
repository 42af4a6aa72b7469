"""The OpenAI Agents SDK's ``OpenAIConversationsSession`` keeps an agent's memory in threadrunner's conversations,
with nothing changed but the client's ``base_url``: an agent run twice with the session remembers the first run."""

from __future__ import annotations

import asyncio

import agents


def test_an_agent_run_twice_with_a_conversations_session_keeps_its_memory(stack, project_client, model, marker):
    from openai import AsyncOpenAI

    sync_client, _ = project_client
    client = AsyncOpenAI(base_url=stack.api_url, api_key=sync_client.api_key, max_retries=0)
    agents.set_tracing_disabled(True)  # traces would go to OpenAI: nothing leaves the machine
    agent = agents.Agent(
        name="Assistant",
        instructions="Reply very concisely.",
        model=agents.OpenAIResponsesModel(model="gpt-4.1-mini", openai_client=client),
    )
    session = agents.OpenAIConversationsSession(openai_client=client)

    async def twice() -> tuple[str, str]:
        first = await agents.Runner.run(agent, f"My favourite colour is teal. {marker}", session=session)
        second = await agents.Runner.run(agent, "What colour did I say was my favourite, earlier?", session=session)
        return first.final_output, second.final_output

    first, second = asyncio.run(twice())

    assert second.startswith(f'Earlier you said: "My favourite colour is teal. {marker}"')
    conversation_id = session.session_id
    assert conversation_id.startswith("conv_")
    items = [item for item in sync_client.conversations.items.list(conversation_id, order="asc")]
    assert [(item.type, item.role) for item in items] == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert items[1].content[0].text == first and items[3].content[0].text == second
    assert len(model.requests_about(marker)[-1]["input"]) == 3  # the second run read the first from the session
