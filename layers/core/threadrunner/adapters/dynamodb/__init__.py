"""The stores on one DynamoDB table (single-table design): one module per port, keys built in ``keys``.

docs/data-model.md describes the items; ``keys`` lists every key pattern.
"""

from __future__ import annotations

from typing import Any

from ...ports import Stores
from .api_keys import DynamoDBApiKeys
from .assistants import DynamoDBAssistants
from .conversations import DynamoDBConversations
from .files import DynamoDBFiles
from .projects import DynamoDBProjects
from .prompts import DynamoDBPrompts
from .runs import DynamoDBRuns
from .steps import DynamoDBSteps
from .threads import DynamoDBThreads
from .tools import DynamoDBTools
from .usage import DynamoDBUnsettledResponses, DynamoDBUsage
from .users import DynamoDBUsers
from .vector_stores import DynamoDBVectorStores
from .webhooks import DynamoDBResponseWebhooks

__all__ = ["DynamoDBApiKeys", "DynamoDBResponseWebhooks", "DynamoDBUnsettledResponses", "stores"]


def stores(table_name: str, project: str, client: Any, retention_days: int = 0) -> Stores:
    """Every store of one project on the table, sharing one client (boto3's DynamoDB client)."""
    on = (table_name, project, client, retention_days)
    return Stores(
        project=project,
        assistants=DynamoDBAssistants(*on),
        threads=DynamoDBThreads(*on),
        runs=DynamoDBRuns(*on),
        steps=DynamoDBSteps(*on),
        users=DynamoDBUsers(*on),
        usage=DynamoDBUsage(*on),
        projects=DynamoDBProjects(*on),
        files=DynamoDBFiles(*on),
        vector_stores=DynamoDBVectorStores(*on),
        tools=DynamoDBTools(*on),
        conversations=DynamoDBConversations(*on),
        prompts=DynamoDBPrompts(*on),
    )
