// dest_aws.h: on-failure destinations that are AWS services (struct esm_dest, per batch): an SQS
// queue, an SNS topic or an S3 bucket named by its ARN.
//
// Each disposed selection is one failure record (Lambda's invocation record for Kafka sources;
// esm/pipeline_dest.c builds it), delivered as:
//   - SQS  arn:<p>:sqs:<region>:<account>:<queue>: SendMessage (query protocol, signed "sqs"),
//     MessageBody = the record (metadata only). The queue URL is
//     https://sqs.<region>.amazonaws.com/<account>/<queue>; with an endpoint override
//     (AWS_ENDPOINT_URL_SQS, ...) it is asked for once with GetQueueUrl (QueueName,
//     QueueOwnerAWSAccountId), since emulators name their queues their own way.
//   - SNS  arn:<p>:sns:<region>:<account>:<topic>: Publish (query protocol, signed "sns"),
//     TopicArn = the ARN, Message = the record (metadata only). Records above 256 KiB are split by
//     the pipeline (SNS's message limit).
//   - S3   arn:<p>:s3:::<bucket>: PutObject (signed "s3", X-Amz-Content-SHA256), the record plus
//     "payload" (the whole event as a JSON string), Content-Type application/json, key
//     aws/lambda/<mapping>/<topic>-<partition>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<offset>-<uuid>.json
//     (the layout of Lambda's stream destinations, the partition in place of the shard).
//     Virtual-hosted style at AWS (https://<bucket>.s3.<region>.amazonaws.com/<key>); path style
//     (<endpoint>/<bucket>/<key>) with an endpoint override, as botocore does for local endpoints.
// The region is the ARN's (S3's: the mapping's region). Credentials and endpoints come from
// invoke/aws.h. The messages of one delivery go out in order, one at a time; any failure (network,
// HTTP status other than 2xx, an answer without its MessageId) fails the delivery with a message
// naming the destination and the service's error code, and the pipeline retries the whole
// delivery with backoff, holding the partition (so a retried delivery may repeat messages already
// accepted: at-least-once).
#ifndef ESM_DEST_AWS_H
#define ESM_DEST_AWS_H

#include "esm/pipeline.h"
#include "invoke/aws.h"
#include "net/reactor.h"

#include <stdbool.h>
#include <stddef.h>

enum esm_dest_aws_kind {
    ESM_DEST_AWS_SQS,
    ESM_DEST_AWS_SNS,
    ESM_DEST_AWS_S3,
};

struct esm_dest_aws;

// esm_dest_aws_kind_of says which service |arn| names; false for anything else (kesm delivers to
// SQS queues, SNS topics and S3 buckets only, as Lambda's Kafka mappings do).
bool esm_dest_aws_kind_of(const char *arn, enum esm_dest_aws_kind *out);

// esm_dest_aws_new: |arn| is copied; |aws| is borrowed (must outlive it). |mapping| names the
// mapping in S3 keys (its UUID, or the consumer group for kesm run); |default_region| is used when
// the ARN has none (S3); |log_tag| goes into log lines. Returns NULL with |err| for an ARN that is
// not an SQS queue, SNS topic or S3 bucket, or an endpoint that does not parse.
struct esm_dest_aws *esm_dest_aws_new(struct net_reactor *r, struct inv_aws *aws, const char *arn,
                                      const char *mapping, const char *default_region,
                                      const char *log_tag, char *err, size_t err_cap);

// esm_dest_aws_dest returns the struct esm_dest for the pipeline; *out_with_payload and
// *out_max_message say how the pipeline must build the records for it.
struct esm_dest esm_dest_aws_dest(struct esm_dest_aws *d, bool *out_with_payload,
                                  size_t *out_max_message);

// esm_dest_aws_free drops pending deliveries without callbacks. NULL is a no-op.
void esm_dest_aws_free(struct esm_dest_aws *d);

#endif
