//! How CloudFormation updates each property flowform emits.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Update {
    /// Updated in place, no interruption.
    InPlace,
    /// Updated in place with some interruption.
    Interruption,
    /// A new physical resource replaces the old one.
    Replacement,
}

use Update::*;

/// How CloudFormation updates each property flowform emits, per resource type (from the
/// resource type reference's "Update requires"). A test checks that every property in the
/// generated templates has an entry; an unknown property counts as Replacement.
pub const UPDATE_BEHAVIOUR: &[(&str, &[(&str, Update)])] = &[
    ("AWS::KMS::Key", &[("Description", InPlace), ("EnableKeyRotation", InPlace), ("KeyPolicy", InPlace)]),
    ("AWS::KMS::Alias", &[("AliasName", Replacement), ("TargetKeyId", InPlace)]),
    (
        "AWS::SecretsManager::Secret",
        &[("Name", Replacement), ("Description", InPlace), ("KmsKeyId", InPlace), ("GenerateSecretString", InPlace)],
    ),
    (
        "AWS::SNS::Topic",
        &[
            ("TopicName", Replacement),
            ("FifoTopic", Replacement),
            ("ContentBasedDeduplication", InPlace),
            ("KmsMasterKeyId", InPlace),
        ],
    ),
    ("AWS::SNS::TopicPolicy", &[("Topics", InPlace), ("PolicyDocument", InPlace)]),
    (
        "AWS::SNS::Subscription",
        &[
            ("TopicArn", Replacement),
            ("Protocol", Replacement),
            ("Endpoint", Replacement),
            ("RawMessageDelivery", InPlace),
            ("FilterPolicy", InPlace),
            ("FilterPolicyScope", InPlace),
        ],
    ),
    (
        "AWS::SQS::Queue",
        &[
            ("QueueName", Replacement),
            ("FifoQueue", Replacement),
            ("ContentBasedDeduplication", InPlace),
            ("KmsMasterKeyId", InPlace),
            ("KmsDataKeyReusePeriodSeconds", InPlace),
            ("MessageRetentionPeriod", InPlace),
            ("VisibilityTimeout", InPlace),
            ("DeduplicationScope", InPlace),
            ("FifoThroughputLimit", InPlace),
            ("DelaySeconds", InPlace),
            ("MaximumMessageSize", InPlace),
            ("RedrivePolicy", InPlace),
            ("RedriveAllowPolicy", InPlace),
        ],
    ),
    ("AWS::SQS::QueuePolicy", &[("Queues", InPlace), ("PolicyDocument", InPlace)]),
    (
        "AWS::CloudWatch::Alarm",
        &[
            ("AlarmName", Replacement),
            ("AlarmDescription", InPlace),
            ("Namespace", InPlace),
            ("MetricName", InPlace),
            ("Dimensions", InPlace),
            ("Statistic", InPlace),
            ("Period", InPlace),
            ("EvaluationPeriods", InPlace),
            ("Threshold", InPlace),
            ("ComparisonOperator", InPlace),
            ("TreatMissingData", InPlace),
            ("AlarmActions", InPlace),
        ],
    ),
    (
        "AWS::IAM::Role",
        &[
            ("Description", InPlace),
            ("AssumeRolePolicyDocument", InPlace),
            ("Policies", InPlace),
            ("Path", Replacement),
        ],
    ),
    ("AWS::Logs::LogGroup", &[("LogGroupName", Replacement), ("RetentionInDays", InPlace), ("KmsKeyId", InPlace)]),
    (
        "AWS::Lambda::Function",
        &[
            ("FunctionName", Replacement),
            ("Description", InPlace),
            ("Runtime", InPlace),
            ("Handler", InPlace),
            ("Architectures", InPlace),
            ("Code", InPlace),
            ("MemorySize", InPlace),
            ("Timeout", InPlace),
            ("ReservedConcurrentExecutions", InPlace),
            ("Role", InPlace),
            ("LoggingConfig", InPlace),
            ("KmsKeyArn", InPlace),
            ("Environment", InPlace),
            ("VpcConfig", InPlace),
            ("DeadLetterConfig", InPlace),
        ],
    ),
    (
        "AWS::Lambda::EventSourceMapping",
        &[
            ("EventSourceArn", Replacement),
            ("FunctionName", InPlace),
            ("Enabled", InPlace),
            ("BatchSize", InPlace),
            ("MaximumBatchingWindowInSeconds", InPlace),
            ("FunctionResponseTypes", InPlace),
            ("ScalingConfig", InPlace),
        ],
    ),
    (
        "AWS::Lambda::Permission",
        &[
            ("Action", Replacement),
            ("FunctionName", Replacement),
            ("Principal", Replacement),
            ("SourceArn", Replacement),
        ],
    ),
    (
        "AWS::Lambda::EventInvokeConfig",
        &[
            ("FunctionName", Replacement),
            ("Qualifier", Replacement),
            ("MaximumRetryAttempts", InPlace),
            ("MaximumEventAgeInSeconds", InPlace),
        ],
    ),
    (
        "AWS::Events::Rule",
        &[
            ("Name", Replacement),
            ("Description", InPlace),
            ("ScheduleExpression", InPlace),
            ("State", InPlace),
            ("Targets", InPlace),
        ],
    ),
    (
        "AWS::EC2::SecurityGroup",
        &[("GroupDescription", Replacement), ("VpcId", Replacement), ("SecurityGroupEgress", InPlace)],
    ),
    (
        "AWS::EC2::SecurityGroupIngress",
        &[
            ("Description", InPlace),
            ("GroupId", Replacement),
            ("IpProtocol", Replacement),
            ("FromPort", Replacement),
            ("ToPort", Replacement),
            ("SourceSecurityGroupId", Replacement),
        ],
    ),
    ("AWS::ApiGatewayV2::Api", &[("Name", InPlace), ("ProtocolType", Replacement)]),
    // A nested stack updates in place: its template's own changes are what replace things.
    ("AWS::CloudFormation::Stack", &[("TemplateURL", InPlace), ("Parameters", InPlace)]),
    (
        "AWS::ApiGatewayV2::Stage",
        &[
            ("ApiId", Replacement),
            ("StageName", Replacement),
            ("AutoDeploy", InPlace),
            ("AccessLogSettings", InPlace),
            ("DefaultRouteSettings", InPlace),
            ("RouteSettings", InPlace),
        ],
    ),
    (
        "AWS::ApiGatewayV2::Integration",
        &[
            ("ApiId", Replacement),
            ("IntegrationType", InPlace),
            ("IntegrationUri", InPlace),
            ("PayloadFormatVersion", InPlace),
            ("TimeoutInMillis", InPlace),
        ],
    ),
    (
        "AWS::ApiGatewayV2::Route",
        &[
            ("ApiId", Replacement),
            ("RouteKey", InPlace),
            ("AuthorizationType", InPlace),
            ("AuthorizerId", InPlace),
            ("AuthorizationScopes", InPlace),
            ("Target", InPlace),
        ],
    ),
    (
        "AWS::ApiGatewayV2::Authorizer",
        &[
            ("ApiId", Replacement),
            ("Name", InPlace),
            ("AuthorizerType", InPlace),
            ("IdentitySource", InPlace),
            ("JwtConfiguration", InPlace),
        ],
    ),
    ("AWS::SES::ConfigurationSet", &[("Name", Replacement), ("DeliveryOptions", InPlace)]),
    ("AWS::SES::EmailIdentity", &[("EmailIdentity", Replacement), ("ConfigurationSetAttributes", InPlace)]),
];

pub fn behaviour(ty: &str, prop: &str) -> Option<Update> {
    UPDATE_BEHAVIOUR
        .iter()
        .find(|(t, _)| *t == ty)
        .and_then(|(_, props)| props.iter().find(|(p, _)| *p == prop))
        .map(|(_, u)| *u)
}
