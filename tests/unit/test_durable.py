"""The local stack's journal: which requests it keeps, and a kill in the middle of a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadrunner_local.durable import Journal, is_kept_write

SIGNED = "AWS4-HMAC-SHA256 Credential=local/20261202/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x"


@pytest.mark.parametrize(
    ("service", "method", "extra", "kept"),
    [
        ("dynamodb", "POST", {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, True),
        ("dynamodb", "POST", {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems"}, True),
        ("dynamodb", "POST", {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"}, False),
        ("s3", "PUT", {"PATH_INFO": "/bucket/key"}, True),
        ("s3", "GET", {"PATH_INFO": "/bucket/key"}, False),
        ("s3vectors", "POST", {"PATH_INFO": "/PutVectors"}, True),
        ("s3vectors", "POST", {"PATH_INFO": "/QueryVectors"}, False),
        ("sqs", "POST", {"HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage"}, False),  # queues are made again
        ("states", "POST", {"HTTP_X_AMZ_TARGET": "AWSStepFunctions.StartExecution"}, False),
    ],
)
def test_the_journal_keeps_writes_of_tables_buckets_and_vectors_only(service, method, extra, kept):
    environ = {"HTTP_AUTHORIZATION": SIGNED.format(service), "REQUEST_METHOD": method, **extra}
    assert is_kept_write(environ) is kept


def test_a_line_cut_by_a_kill_is_left_out_and_what_came_before_is_read(tmp_path: Path):
    journal = Journal(tmp_path / "journal.jsonl")
    for number in range(3):
        journal.sync(journal.append({"n": number}))
    journal.close()
    with (tmp_path / "journal.jsonl").open("ab") as out:
        out.write(b'{"n": 3, "cut')  # never acknowledged: its fsync had not returned

    assert [entry["n"] for entry in Journal.read(tmp_path / "journal.jsonl")] == [0, 1, 2]
