// The donut shop's architecture as an AWS CDK app, N copies (FLOWFORM_BENCH_COPIES), for
// scripts/bench.sh: `cdk synth --quiet` in this directory. Per copy: 2 topics, 3 queues each
// with a DLQ and a DLQ-depth alarm, 3 subscriptions (one filtered), 8 functions (3 HTTP routes,
// 3 SQS-fed, 2 scheduled); once: a KMS key and the HTTP API with a JWT authorizer. What
// flowform adds beyond that (deny-by-default policies, VPC security groups, secrets, SES) is
// left out, so the anchor does less work than flowform, not more.
const cdk = require("aws-cdk-lib");
const { Duration } = cdk;
const sns = require("aws-cdk-lib/aws-sns");
const subs = require("aws-cdk-lib/aws-sns-subscriptions");
const sqs = require("aws-cdk-lib/aws-sqs");
const kms = require("aws-cdk-lib/aws-kms");
const lambda = require("aws-cdk-lib/aws-lambda");
const sources = require("aws-cdk-lib/aws-lambda-event-sources");
const events = require("aws-cdk-lib/aws-events");
const targets = require("aws-cdk-lib/aws-events-targets");
const cw = require("aws-cdk-lib/aws-cloudwatch");
const apigw = require("aws-cdk-lib/aws-apigatewayv2");
const { HttpLambdaIntegration } = require("aws-cdk-lib/aws-apigatewayv2-integrations");
const { HttpJwtAuthorizer } = require("aws-cdk-lib/aws-apigatewayv2-authorizers");
const path = require("path");

const copies = Number(process.env.FLOWFORM_BENCH_COPIES || "1");
// Over 500 resources CDK refuses the stack unless told otherwise; the bench measures synthesis.
const app = new cdk.App({ context: { "@aws-cdk/core:stackResourceLimit": 0 } });
const stack = new cdk.Stack(app, "Shop", { analyticsReporting: false });
const key = new kms.Key(stack, "Key", { enableKeyRotation: true });
const api = new apigw.HttpApi(stack, "Api");
const jwt = new HttpJwtAuthorizer("Customers", "https://auth.example.com", { jwtAudience: ["web"] });
const code = lambda.Code.fromAsset(path.join(__dirname, "handler"));

for (let i = 0; i < copies; i++) {
  const topic = (name) => new sns.Topic(stack, `${name}${i}`, { masterKey: key });
  const outOfStock = topic("OutOfStock");
  const purchases = topic("Purchases");
  const fn = (name) =>
    new lambda.Function(stack, `${name}${i}`, {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: "bootstrap",
      code,
      timeout: Duration.seconds(10),
      memorySize: 256,
      environmentEncryption: key,
    });
  const queue = (name, from, filter) => {
    const dlq = new sqs.Queue(stack, `${name}Dlq${i}`, { encryptionMasterKey: key, retentionPeriod: Duration.days(14) });
    const q = new sqs.Queue(stack, `${name}Queue${i}`, {
      encryptionMasterKey: key,
      visibilityTimeout: Duration.seconds(180),
      deadLetterQueue: { queue: dlq, maxReceiveCount: 7 },
    });
    from.addSubscription(new subs.SqsSubscription(q, filter ? { filterPolicy: filter } : {}));
    new cw.Alarm(stack, `${name}DlqAlarm${i}`, {
      metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: "Maximum" }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    fn(`${name}Fn`).addEventSource(new sources.SqsEventSource(q, { batchSize: 10, reportBatchItemFailures: true }));
  };
  queue("StockRequest", outOfStock);
  queue("AdStop", outOfStock);
  queue("Vip", purchases, { quantity: sns.SubscriptionFilter.numericFilter({ greaterThanOrEqualTo: 100 }) });
  const route = (name, method, p, authorizer) => {
    const f = fn(name);
    api.addRoutes({ path: `/${i}${p}`, methods: [method], integration: new HttpLambdaIntegration(`${name}Int${i}`, f), authorizer });
    return f;
  };
  route("Product", apigw.HttpMethod.GET, "/product/donut");
  const checkout = route("Checkout", apigw.HttpMethod.POST, "/checkout", jwt);
  outOfStock.grantPublish(checkout);
  purchases.grantPublish(checkout);
  route("StockArrival", apigw.HttpMethod.POST, "/factory/callback");
  for (const [name, rate] of [["OutboxRelay", 1], ["RestockReconciler", 5]]) {
    const f = fn(name);
    new events.Rule(stack, `${name}Rule${i}`, { schedule: events.Schedule.rate(Duration.minutes(rate)), targets: [new targets.LambdaFunction(f)] });
    if (name === "OutboxRelay") {
      outOfStock.grantPublish(f);
      purchases.grantPublish(f);
    }
  }
}
app.synth();
