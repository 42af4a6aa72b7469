"""What the API says of code_interpreter, through the unmodified openai SDK in-process: the files it is given are the
project's, the function it is offered under keeps its name, the files its code wrote are listed by their purpose, and
the project's usage shows its seconds of code against their budget."""

from __future__ import annotations

import io

import openai
import pytest

from threadrunner.domain.budget import Budget, ProjectPolicy, today

CODE = [{"type": "code_interpreter"}]


def _file(client, name: str = "data.csv") -> str:
    return client.files.create(file=(name, io.BytesIO(b"a,b\n1,2\n")), purpose="assistants").id


def test_files_given_to_code_must_be_the_projects_own(client, project_client):
    other, _ = project_client
    theirs = _file(other)
    ours = _file(client)

    with pytest.raises(openai.BadRequestError) as assistant:
        client.beta.assistants.create(
            model="gpt-4.1-mini", tools=CODE, tool_resources={"code_interpreter": {"file_ids": [ours, theirs]}}
        )
    with pytest.raises(openai.BadRequestError) as thread:
        client.beta.threads.create(tool_resources={"code_interpreter": {"file_ids": [theirs]}})
    made = client.beta.threads.create(tool_resources={"code_interpreter": {"file_ids": [ours]}})
    with pytest.raises(openai.BadRequestError) as update:
        client.beta.threads.update(made.id, tool_resources={"code_interpreter": {"file_ids": ["file-missing"]}})

    assert assistant.value.body["param"] == "tool_resources.code_interpreter.file_ids[1]"
    assert assistant.value.body["message"] == f"No file found with id '{theirs}'."
    assert thread.value.body["param"] == update.value.body["param"] == "tool_resources.code_interpreter.file_ids[0]"
    assert list(client.beta.assistants.list()) == []
    assert client.beta.threads.retrieve(made.id).tool_resources.code_interpreter.file_ids == [ours]


def test_a_client_function_named_code_interpreter_beside_the_tool_is_refused(client):
    mine = {"type": "function", "function": {"name": "code_interpreter", "parameters": {"type": "object"}}}

    with pytest.raises(openai.BadRequestError) as refused:
        client.beta.assistants.create(model="gpt-4.1-mini", tools=[*CODE, mine])

    assert refused.value.body["param"] == "tools"
    assert "code_interpreter is declared more than once" in refused.value.body["message"]
    assert (
        client.beta.assistants.create(model="gpt-4.1-mini", tools=[mine]).tools[0].function.name == "code_interpreter"
    )


def test_files_are_listed_by_the_purpose_of_what_code_wrote_and_none_is_uploaded_for_it(api, deployment, client):
    from threadrunner.app.files import stored_file

    written = stored_file(deployment.stores("default"), deployment.contents, "chart.png", "assistants_output", b"png")
    _file(client)

    listed = client.files.list(purpose="assistants_output")
    with pytest.raises(openai.BadRequestError) as upload:
        client.files.create(file=("x.png", io.BytesIO(b"x")), purpose="assistants_output")  # type: ignore[arg-type]

    assert [file.id for file in listed] == [written.id]
    assert listed.data[0].purpose == "assistants_output" and listed.data[0].filename == "chart.png"
    assert client.files.content(written.id).read() == b"png"
    assert upload.value.body["param"] == "purpose"


def test_the_projects_usage_shows_its_seconds_of_code_today_and_their_budget(api, deployment):
    project, key = api.project()
    stores = deployment.stores(project)
    stores.projects.set_policy(ProjectPolicy(budget=Budget(daily_code_interpreter_seconds=600)))
    stores.usage.add_code_seconds(today(), 1.25)
    stores.usage.add_code_seconds(today(), 2.5)

    status, usage = api("GET", "/usage", key=key)

    assert status == 200
    assert usage["code_interpreter_seconds"] == 3.75
    assert usage["daily_budget"]["daily_code_interpreter_seconds"] == 600


def test_a_project_cannot_register_a_tool_named_as_the_built_in_code_tool(api, project_client):
    client, _ = project_client
    tool = {
        "name": "code_interpreter",
        "parameters": {"type": "object"},
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:mine",
    }

    status, answer = api("POST", "/server_tools", tool, key=client.api_key)

    assert status == 409 and answer["error"]["param"] == "name"
    assert answer["error"]["message"] == (
        "A server tool named 'code_interpreter' is the deployment's; choose another name."
    )
