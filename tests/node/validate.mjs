// validate.mjs: checks a Lambda Kafka event written by kesm with @aws-lambda-powertools/parser,
// an independent consumer of the format.
//
// usage: node validate.mjs FILE selfmanaged|msk [strict]
//
// Default mode: Powertools' own event and record schemas, with one override: header values are
// checked as arrays of SIGNED bytes (integers -128..127, what Lambda sends) instead of going
// through Powertools' header transform, because parser 2.35.0 decodes them with
// String.fromCodePoint, which throws a RangeError on negative bytes (real Lambda payloads carry
// them for any byte >= 0x80). "strict" uses Powertools' schema unchanged (only valid for events
// whose header bytes are all below 0x80).
//
// On success prints one JSON line {"ok":true,...} with the decoded records (key, value, headers
// decoded from signed bytes as UTF-8) and exits 0; otherwise prints the issues and exits 1.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  KafkaMskEventSchema,
  KafkaRecordSchema,
  KafkaSelfManagedEventSchema,
} from '@aws-lambda-powertools/parser/schemas/kafka';

const [file, kind = 'selfmanaged', mode = ''] = process.argv.slice(2);
const event = JSON.parse(readFileSync(file, 'utf8'));
const base = kind === 'msk' ? KafkaMskEventSchema : KafkaSelfManagedEventSchema;

const SignedHeaders = z.array(
  z.record(z.string(), z.array(z.number().int().min(-128).max(127)))
);
const schema =
  mode === 'strict'
    ? base
    : base.extend({
        records: z.record(
          z.string(),
          z.array(KafkaRecordSchema.extend({ headers: SignedHeaders })).nonempty()
        ),
      });

const problems = [];
let parsed;
try {
  const r = schema.safeParse(event);
  if (!r.success) {
    problems.push(...r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  } else {
    parsed = r.data;
  }
} catch (e) {
  problems.push(`schema threw ${e.name}: ${e.message}`);
}

// Checks beyond the schema: "<topic>-<partition>" keys match their records, offsets increase,
// key order as in AWS's examples.
if (parsed) {
  const top = Object.keys(event);
  const want =
    kind === 'msk'
      ? ['eventSource', 'eventSourceArn', 'bootstrapServers', 'records']
      : ['eventSource', 'bootstrapServers', 'records'];
  if (JSON.stringify(top) !== JSON.stringify(want)) {
    problems.push(`top-level keys ${top} != ${want}`);
  }
  for (const [key, recs] of Object.entries(event.records)) {
    let last = -Infinity;
    for (const r of recs) {
      if (`${r.topic}-${r.partition}` !== key) {
        problems.push(`${key}: record of ${r.topic}-${r.partition}`);
      }
      if (!(r.offset > last)) problems.push(`${key}: offset ${r.offset} after ${last}`);
      last = r.offset;
    }
  }
}

if (problems.length) {
  console.log(JSON.stringify({ ok: false, file, problems }));
  process.exit(1);
}

const decodeSigned = (arr) => Buffer.from(arr.map((b) => b & 255)).toString('utf8');
const records = [];
for (const [key, recs] of Object.entries(event.records)) {
  recs.forEach((r, i) => {
    const p = parsed.records[key][i];
    records.push({
      key,
      offset: r.offset,
      keyText: p.key ?? null,
      valueText: p.value,
      headers: r.headers.map((h) =>
        Object.fromEntries(Object.entries(h).map(([n, v]) => [n, decodeSigned(v)]))
      ),
      headersHex: r.headers.map((h) =>
        Object.fromEntries(
          Object.entries(h).map(([n, v]) => [n, Buffer.from(v.map((b) => b & 255)).toString('hex')])
        )
      ),
    });
  });
}
console.log(JSON.stringify({ ok: true, file, servers: parsed.bootstrapServers, records }));
