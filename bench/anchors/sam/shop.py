"""The donut shop's architecture as an AWS SAM template, N copies, for scripts/bench.sh.

    python shop.py N > template.yaml      # then: python translate.py template.yaml

Per copy: 2 topics, 3 queues each with a DLQ and a DLQ-depth alarm, 3 filtered or plain
SNS->SQS subscriptions with their queue policies, 8 functions (3 HTTP routes, 3 SQS-fed,
2 scheduled) with their roles; once: a KMS key and the HTTP API with a JWT authorizer. What
flowform adds beyond that (deny-by-default policies, VPC security groups, secrets, SES) is
left out, so the anchor does less work than flowform, not more.
"""

import json
import sys


def copy(i: int) -> dict:
    r = {}
    key = {"Ref": "Key"}
    for t in ("OutOfStock", "Purchases"):
        r[f"{t}{i}"] = {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": key}}
    queues = {"StockRequest": "OutOfStock", "AdStop": "OutOfStock", "Vip": "Purchases"}
    for q, topic in queues.items():
        r[f"{q}Dlq{i}"] = {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": key, "MessageRetentionPeriod": 1209600}}
        r[f"{q}Queue{i}"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "KmsMasterKeyId": key,
                "VisibilityTimeout": 180,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [f"{q}Dlq{i}", "Arn"]}, "maxReceiveCount": 7},
            },
        }
        r[f"{q}Policy{i}"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": f"{q}Queue{i}"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [f"{q}Queue{i}", "Arn"]},
                        "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": f"{topic}{i}"}}},
                    }],
                },
            },
        }
        sub = {"Protocol": "sqs", "TopicArn": {"Ref": f"{topic}{i}"}, "Endpoint": {"Fn::GetAtt": [f"{q}Queue{i}", "Arn"]}}
        if q == "Vip":
            sub["FilterPolicy"] = {"quantity": [{"numeric": [">=", 100]}]}
        r[f"{q}Subscription{i}"] = {"Type": "AWS::SNS::Subscription", "Properties": sub}
        r[f"{q}DlqAlarm{i}"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [f"{q}Dlq{i}", "QueueName"]}}],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
            },
        }

    def function(name: str, events: dict, policies: list) -> None:
        r[f"{name}{i}"] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": "s3://bench-artifacts/handler.zip",  # what `sam package` leaves
                "Handler": "bootstrap",
                "Runtime": "provided.al2023",
                "Timeout": 10,
                "MemorySize": 256,
                "KmsKeyArn": {"Fn::GetAtt": ["Key", "Arn"]},
                "Events": events,
                "Policies": policies,
            },
        }

    publish = lambda t: {"SNSPublishMessagePolicy": {"TopicName": {"Fn::GetAtt": [f"{t}{i}", "TopicName"]}}}
    api = lambda method, path, auth: {
        "Api": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, "Method": method, "Path": f"/{i}{path}", **auth}}
    }
    jwt = {"Auth": {"Authorizer": "Customers"}}
    none: dict = {}
    function("Product", api("GET", "/product/donut", none), [])
    function("Checkout", api("POST", "/checkout", jwt), [publish("OutOfStock"), publish("Purchases")])
    function("StockArrival", api("POST", "/factory/callback", none), [])
    for q in queues:
        function(f"{q}Fn", {"Queue": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": [f"{q}Queue{i}", "Arn"]}, "BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]}}}, [])
    function("OutboxRelay", {"Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}}, [publish("OutOfStock"), publish("Purchases")])
    function("RestockReconciler", {"Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}}}, [])
    return r


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    resources = {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True, "KeyPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}, "Action": "kms:*", "Resource": "*"}]}}},
        "Api": {
            "Type": "AWS::Serverless::HttpApi",
            "Properties": {
                "Auth": {"Authorizers": {"Customers": {"JwtConfiguration": {"issuer": "https://auth.example.com", "audience": ["web"]}, "IdentitySource": "$request.header.Authorization"}}},
            },
        },
    }
    for i in range(n):
        resources.update(copy(i))
    json.dump({"AWSTemplateFormatVersion": "2010-09-09", "Transform": "AWS::Serverless-2016-10-31", "Resources": resources}, sys.stdout, indent=1)


main()
