// sr_peers.mjs: the independent peers of tests/integration/esm_schema_registry.sh.
//
//   node sr_peers.mjs produce OUTDIR REGISTRY_URL
//     Registers schemas in the registry (tests/node/sr_fixture.mjs) and serializes records with
//     @confluentinc/schemaregistry's AvroSerializer, ProtobufSerializer and JsonSerializer (Avro
//     through avsc, Protobuf through @bufbuild/protobuf descriptors built from the .proto text by
//     protobufjs), plus Glue-framed records (avsc / protobufjs data behind the Glue header,
//     zlib-compressed for one). Writes OUTDIR/kmock.cmds (kmock produce commands, %XX-encoded)
//     and OUTDIR/expected.json (per topic, per offset: the produced objects, their schema ids
//     and formats, and what kesm's JSON must equal).
//   node sr_peers.mjs check-json OUTDIR EVENTS TOPIC
//     EVENTS holds kesm's Lambda events (one per line, EventRecordFormat JSON): every record of
//     TOPIC must carry the expected metadata, and base64-decode to JSON equal to the expected
//     value (and key).
//   node sr_peers.mjs check-source OUTDIR EVENTS TOPIC
//     The same events in SOURCE mode, handed to @aws-lambda-powertools/kafka's kafkaConsumer
//     with its Avro (avro-js), Protobuf (protobufjs) or JSON deserializer: every value must
//     decode to the produced object.
// Prints one "ok - ..." / "not ok - ..." line per check; exits 1 if any failed.
import { SchemaRegistryClient, SerdeType } from '@confluentinc/schemaregistry';
import { AvroSerializer } from '@confluentinc/schemaregistry/dist/serde/avro.js';
import { JsonSerializer } from '@confluentinc/schemaregistry/dist/serde/json.js';
import { ProtobufSerializer } from '@confluentinc/schemaregistry/dist/serde/protobuf.js';
import { create, createFileRegistry, fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import * as wkt from '@bufbuild/protobuf/wkt';
import avro from 'avsc';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const HERE = path.dirname(new URL(import.meta.url).pathname);
// Powertools' CommonJS build (its ES module build cannot import protobufjs 7's named exports in
// plain Node; bundlers and the Lambda Node.js runtime load the CommonJS one)
const { kafkaConsumer } = createRequire(import.meta.url)('@aws-lambda-powertools/kafka');
const SCHEMAS = path.join(HERE, '../integration/schema_registry');
let failures = 0;
const ok = (d) => console.log(`ok - ${d}`);
const notok = (d, detail) => {
  failures++;
  console.log(`not ok - ${d}`);
  if (detail) console.log(`# ${String(detail).split('\n').join('\n# ')}`);
};

// ---- Avro ------------------------------------------------------------------------------------

// DecimalType maps Avro decimal bytes to a decimal string ("-12.34"), the form kesm writes.
class DecimalType extends avro.types.LogicalType {
  constructor(attrs, opts) {
    super(attrs, opts);
    this.scale = attrs.scale || 0;
  }
  _fromValue(buf) {
    let v = 0n;
    for (const b of buf) v = (v << 8n) | BigInt(b);
    if (buf.length && buf[0] & 0x80) v -= 1n << BigInt(8 * buf.length);
    const neg = v < 0n;
    let s = (neg ? -v : v).toString().padStart(this.scale + 1, '0');
    if (this.scale) s = `${s.slice(0, -this.scale)}.${s.slice(-this.scale)}`;
    return (neg ? '-' : '') + s;
  }
  _toValue(str) {
    const [i, f = ''] = String(str).replace('-', '').split('.');
    let v = BigInt(i + f.padEnd(this.scale, '0'));
    if (String(str).startsWith('-')) v = -v;
    const bytes = [];
    for (let k = 0; k < 32; k++) {
      bytes.unshift(Number(v & 0xffn));
      v >>= 8n;
      if ((v === 0n && !(bytes[0] & 0x80)) || (v === -1n && bytes[0] & 0x80)) break;
    }
    return Buffer.from(bytes);
  }
  _resolve(type) {
    return avro.Type.isType(type, 'logical:decimal') ? this._fromValue.bind(this) : undefined;
  }
}
// a fresh options object each time: avsc keeps its name registry in it
const avroOpts = () => ({ logicalTypes: { decimal: DecimalType } });

// jsonOfAvro: what kesm's JSON must equal for an avsc value: bytes as latin1 strings.
const jsonOfAvro = (v) => {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(jsonOfAvro);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonOfAvro(x)]));
  }
  return v;
};

// ---- Protobuf --------------------------------------------------------------------------------

// protoRegistry builds @bufbuild/protobuf descriptors for .proto files (protobufjs parses the
// text; its descriptors get fully qualified type names and default json names).
function protoRegistry(files) {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => (path.isAbsolute(target) ? target : path.join(SCHEMAS, target));
  root.loadSync(files.map((f) => path.join(SCHEMAS, f)), { keepCase: true });
  root.resolveAll();
  const bin = descriptor.FileDescriptorSet.encode(root.toDescriptor('proto3')).finish();
  const fds = fromBinary(wkt.FileDescriptorSetSchema, bin);
  const names = new Set();
  const collect = (scope, msgs, enums) => {
    for (const e of enums) names.add(`${scope}.${e.name}`);
    for (const m of msgs) {
      names.add(`${scope}.${m.name}`);
      collect(`${scope}.${m.name}`, m.nestedType, m.enumType);
    }
  };
  for (const f of fds.file) collect(f.package ? `.${f.package}` : '', f.messageType, f.enumType);
  const fix = (scope, msgs) => {
    for (const m of msgs) {
      const s = `${scope}.${m.name}`;
      for (const fld of m.field) {
        if (!fld.jsonName) fld.jsonName = fld.name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
        if (fld.typeName && !fld.typeName.startsWith('.')) {
          for (let sc = s; ; sc = sc.slice(0, Math.max(0, sc.lastIndexOf('.')))) {
            if (names.has(`${sc}.${fld.typeName}`)) {
              fld.typeName = `${sc}.${fld.typeName}`;
              break;
            }
            if (!sc) break;
          }
        }
      }
      fix(s, m.nestedType);
    }
  };
  for (const f of fds.file) fix(f.package ? `.${f.package}` : '', f.messageType);
  const wktFiles = {};
  for (const [k, v] of Object.entries(wkt)) if (k.startsWith('file_')) wktFiles[v.proto.name] = v;
  const user = fds.file.filter((f) => f.package !== 'google.protobuf');
  const typeNames = (msgs) => msgs.flatMap((m) => [...m.field.map((x) => x.typeName || ''), ...typeNames(m.nestedType)]);
  for (const f of user) {
    const used = typeNames(f.messageType);
    const uses = (g) => g.package && used.some((t) => t.startsWith(`.${g.package}.`));
    f.dependency = [...['any', 'duration', 'empty', 'field_mask', 'struct', 'timestamp', 'wrappers'].map((n) => `google/protobuf/${n}.proto`), ...user.filter((o) => o !== f && uses(o)).map((o) => o.name)];
  }
  const byName = Object.fromEntries(user.map((f) => [f.name, f]));
  const regs = user.map((f) => createFileRegistry(f, (n) => wktFiles[n] || byName[n]));
  return { registry: createFileRegistry(...regs), root };
}

// ---- producing -------------------------------------------------------------------------------

const pctAll = (buf) => [...buf].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
const lit = (buf) => (buf == null ? 'null' : buf.length ? pctAll(buf) : '');

async function produce(outdir, url) {
  const userInfo = process.env.SR_USERINFO;
  const client = new SchemaRegistryClient({
    baseURLs: [url],
    basicAuthCredentials: userInfo ? { credentialsSource: 'USER_INFO', userInfo } : undefined,
  });
  const auth = userInfo ? { Authorization: `Basic ${Buffer.from(userInfo).toString('base64')}` } : {};
  const cmds = [];
  const expected = {};
  const add = (topic, rec) => {
    (expected[topic] ||= []).push(rec);
    const key = rec.keyBytes == null ? 'key=null' : `key=${lit(rec.keyBytes)}`;
    cmds.push(`produce ${topic} 1 partition=0 ${key} value=${lit(rec.valueBytes)}`);
    delete rec.keyBytes;
    rec.valueB64 = rec.valueBytes ? rec.valueBytes.toString('base64') : null;
    delete rec.valueBytes;
  };
  const read = (f) => fs.readFileSync(path.join(SCHEMAS, f), 'utf8');

  // Avro: a reference (Address), v1 and v2 of Order, a string key.
  const addressId = await client.register('com.acme.Address', { schemaType: 'AVRO', schema: read('address.avsc') });
  const refs = [{ name: 'com.acme.Address', subject: 'com.acme.Address', version: 1 }];
  const v1 = await client.register('sr-avro-value', { schemaType: 'AVRO', schema: read('order_v1.avsc') });
  const keyId = await client.register('sr-avro-key', { schemaType: 'AVRO', schema: '"string"' });
  const ser = (id, type) => new AvroSerializer(client, type, { useSchemaId: id, ...avroOpts() });
  const orders = JSON.parse(read('orders.json')).map((o) => ({ ...o, blob: Buffer.from(o.blob, 'hex'), digest: Buffer.from(o.digest.replace(/ /g, ''), 'hex') }));
  const typeOf = async (id) => {
    const info = await client.getBySubjectAndId('sr-avro-value', id);
    return avro.Type.forSchema(JSON.parse(info.schema), avroOpts());
  };
  const avroRec = async (id, obj, k) => {
    const valueBytes = await ser(id, SerdeType.VALUE).serialize('sr-avro', obj);
    const keyBytes = await ser(keyId, SerdeType.KEY).serialize('sr-avro', k);
    const t = await typeOf(id);
    const decoded = t.fromBuffer(valueBytes.subarray(5));
    add('sr-avro', { format: 'AVRO', valueSchemaId: String(id), keySchemaId: String(keyId), key: k, value: jsonOfAvro(decoded), keyBytes, valueBytes });
  };
  await avroRec(v1, orders[0], 'k0');
  await avroRec(v1, orders[1], 'k1');
  const v2 = await client.register('sr-avro-value', { schemaType: 'AVRO', schema: read('order_v2.avsc') });
  await avroRec(v2, { ...orders[0], note: 'second version' }, 'k2');
  await avroRec(v1, orders[1], 'k3'); // written with v1 after v2 was registered
  // A schema with references (Address from its own subject), written with avsc and framed as
  // the Confluent serializers frame (magic 0, id): @confluentinc/schemaregistry 1.10.1's Avro
  // serializer cannot resolve references of a schema with more than one named type.
  const refId = await client.register('sr-avro-value', { schemaType: 'AVRO', schema: read('order_ref.avsc'), references: refs });
  const addrType = avro.Type.forSchema(JSON.parse(read('address.avsc')), avroOpts());
  const shipType = avro.Type.forSchema(JSON.parse(read('order_ref.avsc')), { ...avroOpts(), registry: { 'com.acme.Address': addrType } });
  const ship = { id: 77, from: { city: 'Lyon', zip: null }, to: { city: 'Nice', zip: '06000' } };
  const idBytes = Buffer.alloc(5);
  idBytes.writeUInt32BE(refId, 1);
  const shipBytes = Buffer.concat([idBytes, shipType.toBuffer(ship)]);
  add('sr-avro', { format: 'AVRO', what: 'references', valueSchemaId: String(refId), keySchemaId: String(keyId), key: 'k4', value: ship, keyBytes: await ser(keyId, SerdeType.KEY).serialize('sr-avro', 'k4'), valueBytes: shipBytes });
  expected.avroSchemas = { [v1]: read('order_v1.avsc'), [v2]: read('order_v2.avsc') };
  const inlinedShip = JSON.parse(read('order_ref.avsc'));
  inlinedShip.fields[1].type = JSON.parse(read('address.avsc'));
  inlinedShip.fields[2].type = ['null', 'com.acme.Address'];
  expected.avroSchemas[refId] = JSON.stringify(inlinedShip);

  // Protobuf: a referenced file, the main file registered as text, three message types.
  await client.register('common.proto', { schemaType: 'PROTOBUF', schema: read('common.proto') });
  const pid = await client.register('sr-proto-value', {
    schemaType: 'PROTOBUF', schema: read('shop.proto'),
    references: [{ name: 'common.proto', subject: 'common.proto', version: 1 }],
  });
  const { registry } = protoRegistry(['common.proto', 'shop.proto']);
  const pser = new ProtobufSerializer(client, SerdeType.VALUE, { useLatestVersion: true, registry });
  const protoObjs = JSON.parse(read('shop_records.json'));
  for (const [i, { type, json }] of protoObjs.entries()) {
    const desc = registry.getMessage(type);
    const msg = create(desc, {});
    Object.assign(msg, fromBinary(desc, toBinary(desc, protoFromJson(desc, json))));
    const valueBytes = await pser.serialize('sr-proto', msg);
    add('sr-proto', { format: 'PROTOBUF', valueSchemaId: String(pid), type, key: `p${i}`, keyBytes: Buffer.from(`p${i}`), value: toJson(desc, msg), valueBytes });
  }

  // JSON Schema.
  const jid = await client.register('sr-json-value', { schemaType: 'JSON', schema: read('event.schema.json') });
  const jser = new JsonSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
  for (const [i, obj] of JSON.parse(read('events.json')).entries()) {
    const valueBytes = await jser.serialize('sr-json', obj);
    add('sr-json', { format: 'JSON', valueSchemaId: String(jid), key: `j${i}`, keyBytes: Buffer.from(`j${i}`), value: obj, valueBytes });
  }

  // Records that cannot be decoded, around good ones (Avro mapping on the value).
  for (const subject of ['sr-bad-value', 'sr-outage-value']) {
    await client.register(subject, { schemaType: 'AVRO', schema: read('order_v1.avsc') });
  }
  const good = await ser(v1, SerdeType.VALUE).serialize('sr-bad', orders[1]);
  const bad = [
    ['good', good, null],
    ['bad magic', Buffer.concat([Buffer.from([1]), good.subarray(1)]), 'DESERIALIZATION_ERROR'],
    ['unknown id', Buffer.concat([Buffer.from([0, 0, 0, 0x27, 0x0f]), good.subarray(5)]), 'SCHEMA_NOT_FOUND'],
    ['truncated', good.subarray(0, good.length - 3), 'DESERIALIZATION_ERROR'],
    ['trailing byte', Buffer.concat([good, Buffer.from([7])]), 'DESERIALIZATION_ERROR'],
    ['empty', Buffer.alloc(0), 'DESERIALIZATION_ERROR'],
    ['good again', good, null],
  ];
  const goodJson = jsonOfAvro((await typeOf(v1)).fromBuffer(good.subarray(5)));
  for (const [what, valueBytes, reject] of bad) {
    add('sr-bad', { format: 'AVRO', what, reject, valueSchemaId: String(v1), key: what, keyBytes: Buffer.from(what), value: reject ? null : goodJson, valueBytes });
  }

  // Glue framing: Avro (none, zlib), Protobuf (the message index), JSON.
  const glue = async (id, def, fmt) => {
    await fetch(`${url}/glue/schemas`, { method: 'POST', headers: auth, body: JSON.stringify({ SchemaVersionId: id, SchemaDefinition: def, DataFormat: fmt }) });
  };
  const header = (comp, id) => Buffer.concat([Buffer.from([3, comp]), Buffer.from(id.replace(/-/g, ''), 'hex')]);
  const gA = '7b8e9f10-1111-4222-8333-944455556666', gP = '0f1e2d3c-4b5a-4697-8877-665544332211', gJ = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
  const inlined = JSON.parse(read('order_v1.avsc'));
  await glue(gA, JSON.stringify(inlined), 'AVRO');
  await glue(gP, read('glue.proto'), 'PROTOBUF');
  await glue(gJ, read('event.schema.json'), 'JSON');
  const gt = avro.Type.forSchema(inlined, avroOpts());
  for (const [i, comp] of [0, 5].entries()) {
    const data = gt.toBuffer(orders[i]);
    const valueBytes = Buffer.concat([header(comp, gA), comp ? zlib.deflateSync(data) : data]);
    add('sr-glue', { format: 'AVRO', valueSchemaId: gA, key: `g${i}`, keyBytes: Buffer.from(`g${i}`), value: jsonOfAvro(gt.fromBuffer(data)), valueBytes, source: data.toString('base64') });
  }
  const groot = protobuf.parse(read('glue.proto'), { keepCase: true }).root;
  const Reading = groot.lookupType('glue.v1.Reading');
  const reading = { sensor: 's-1', celsius: 21.5, tags: ['a', 'b'], at: '1700000000000' };
  const pdata = Buffer.from(Reading.encode(Reading.fromObject(reading)).finish());
  // glue.v1.Device < glue.v1.Reading < glue.v1.Reading.Calibration by name: Reading is 1
  const pbytes = Buffer.concat([Buffer.from([1]), pdata]);
  add('sr-glue', { format: 'PROTOBUF', valueSchemaId: gP, type: 'glue.v1.Reading', key: 'g2', keyBytes: Buffer.from('g2'), value: { sensor: 's-1', celsius: 21.5, tags: ['a', 'b'], at: '1700000000000' }, valueBytes: Buffer.concat([header(0, gP), pbytes]), source: pbytes.toString('base64') });
  const ev = JSON.parse(read('events.json'))[0];
  add('sr-glue', { format: 'JSON', valueSchemaId: gJ, key: 'g3', keyBytes: Buffer.from('g3'), value: ev, valueBytes: Buffer.concat([header(0, gJ), Buffer.from(JSON.stringify(ev))]), source: Buffer.from(JSON.stringify(ev)).toString('base64') });

  // The outage topic: plain Avro records.
  for (let i = 0; i < 3; i++) {
    const valueBytes = await ser(v1, SerdeType.VALUE).serialize('sr-outage', orders[i % 2]);
    add('sr-outage', { format: 'AVRO', valueSchemaId: String(v1), key: `o${i}`, keyBytes: Buffer.from(`o${i}`), value: jsonOfAvro((await typeOf(v1)).fromBuffer(valueBytes.subarray(5))), valueBytes });
  }
  fs.writeFileSync(path.join(outdir, 'kmock.cmds'), `${cmds.join('\n')}\n`);
  fs.writeFileSync(path.join(outdir, 'expected.json'), JSON.stringify(expected, null, 1));
  ok(`produced ${cmds.length} records (Avro ids ${addressId}/${v1}/${v2}, key ${keyId}, Protobuf ${pid}, JSON ${jid}, Glue ${gA}/${gP}/${gJ})`);
}

// protoFromJson: a message from the proto3 JSON of the test data (bufbuild's own parser).
import { fromJson } from '@bufbuild/protobuf';
function protoFromJson(desc, json) {
  return fromJson(desc, json, { registry: undefined });
}

// ---- checking --------------------------------------------------------------------------------

// same compares JSON values; numbers may differ by float32 rounding or the sign of zero.
function same(a, b) {
  if (typeof a === 'number' && typeof b === 'number') {
    return a === b || Math.fround(a) === Math.fround(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    return same(ka, kb) && ka.every((k) => same(a[k], b[k]));
  }
  return a === b;
}

function recordsOf(eventsFile, topic) {
  const out = [];
  for (const line of fs.readFileSync(eventsFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const ev = JSON.parse(line);
    for (const [k, recs] of Object.entries(ev.records)) {
      if (k.startsWith(`${topic}-`)) out.push(...recs.map((r) => ({ ...r, event: ev })));
    }
  }
  return out.sort((x, y) => x.offset - y.offset);
}

function checkJson(outdir, eventsFile, topic) {
  const exp = JSON.parse(fs.readFileSync(path.join(outdir, 'expected.json'), 'utf8'))[topic].filter((e) => !e.reject);
  const got = recordsOf(eventsFile, topic);
  if (got.length !== exp.length) return notok(`${topic}: ${exp.length} records delivered`, `got offsets ${got.map((r) => r.offset).join(' ')}`);
  ok(`${topic}: ${exp.length} records delivered`);
  got.forEach((r, i) => {
    const e = exp[i];
    const meta = r.valueSchemaMetadata;
    if (!meta || meta.dataFormat !== e.format || meta.schemaId !== e.valueSchemaId || Object.keys(meta).join() !== 'dataFormat,schemaId') {
      return notok(`${topic} offset ${r.offset}: valueSchemaMetadata {dataFormat: ${e.format}, schemaId: ${e.valueSchemaId}}`, JSON.stringify(meta));
    }
    const v = JSON.parse(Buffer.from(r.value, 'base64').toString('utf8'));
    if (!same(v, e.value)) return notok(`${topic} offset ${r.offset}: JSON value equals the produced object`, `got ${JSON.stringify(v)}\nwant ${JSON.stringify(e.value)}`);
    if (e.keySchemaId) {
      const k = JSON.parse(Buffer.from(r.key, 'base64').toString('utf8'));
      if (k !== e.key || r.keySchemaMetadata?.schemaId !== e.keySchemaId) return notok(`${topic} offset ${r.offset}: key "${e.key}" with keySchemaMetadata`, JSON.stringify([k, r.keySchemaMetadata]));
    } else if (r.keySchemaMetadata) {
      return notok(`${topic} offset ${r.offset}: a key that is not validated has no keySchemaMetadata`);
    }
    ok(`${topic} offset ${r.offset}: ${e.what || e.type || e.format} value (and metadata) as produced`);
  });
}

async function checkSource(outdir, eventsFile, topic) {
  const all = JSON.parse(fs.readFileSync(path.join(outdir, 'expected.json'), 'utf8'));
  const exp = all[topic].filter((e) => !e.reject);
  const got = recordsOf(eventsFile, topic);
  if (got.length !== exp.length) return notok(`${topic} (SOURCE): ${exp.length} records delivered`, `got ${got.length}`);
  let pb;
  for (const [i, r] of got.entries()) {
    const e = exp[i];
    // SOURCE: the original data without the registry framing (Protobuf message indexes kept)
    const orig = e.source ? Buffer.from(e.source, 'base64') : Buffer.from(e.valueB64, 'base64').subarray(5);
    if (r.value !== orig.toString('base64') || r.valueSchemaMetadata?.schemaId !== e.valueSchemaId) {
      notok(`${topic} offset ${r.offset}: SOURCE value is the produced data without its framing`, `got ${r.value}\nwant ${orig.toString('base64')}`);
      continue;
    }
    let cfg;
    let avroSchema;
    if (e.format === 'AVRO') {
      avroSchema = all.avroSchemas?.[e.valueSchemaId] || fs.readFileSync(path.join(SCHEMAS, 'order_v1.avsc'), 'utf8');
      cfg = { type: 'avro', schema: avroSchema };
    } else if (e.format === 'PROTOBUF') {
      if (!pb) {
        const root = new protobuf.Root();
        root.resolvePath = (o, t) => (path.isAbsolute(t) ? t : path.join(SCHEMAS, t));
        root.loadSync([path.join(SCHEMAS, 'shop.proto'), path.join(SCHEMAS, 'glue.proto')]);
        pb = { root, ...protoRegistry(['common.proto', 'shop.proto', 'glue.proto']) };
      }
      cfg = { type: 'protobuf', schema: pb.root.lookupType(e.type) };
    } else {
      cfg = { type: 'json' };
    }
    const event = { ...r.event, records: { [`${topic}-0`]: [(({ event: _, ...x }) => x)(r)] } };
    let value;
    await kafkaConsumer(async (ev) => {
      value = ev.records[0].value;
    }, { value: cfg })(event, {});
    // What Powertools decoded, written back and read with the producing side's library, must be
    // the produced object (Avro: avsc with the decimal type; Protobuf: @bufbuild/protobuf JSON).
    let back = value;
    if (e.format === 'AVRO') {
      const { default: avrojs } = await import('avro-js');
      const bytes = avrojs.parse(avroSchema).toBuffer(value);
      back = jsonOfAvro(avro.Type.forSchema(JSON.parse(avroSchema), avroOpts()).fromBuffer(bytes));
    } else if (e.format === 'PROTOBUF') {
      const desc = pb.registry.getMessage(e.type);
      back = toJson(desc, fromBinary(desc, cfg.schema.encode(value).finish()));
    }
    if (!same(back, e.value)) notok(`${topic} offset ${r.offset}: Powertools ${cfg.type} deserializer decodes kesm's SOURCE value to the produced object`, `got ${JSON.stringify(back)}\nwant ${JSON.stringify(e.value)}`);
    else ok(`${topic} offset ${r.offset}: Powertools ${cfg.type} deserializer decodes kesm's SOURCE value to the produced object`);
  }
}

const [cmd, outdir, a, b] = process.argv.slice(2);
try {
  if (cmd === 'produce') await produce(outdir, a);
  else if (cmd === 'check-json') checkJson(outdir, a, b);
  else if (cmd === 'check-source') await checkSource(outdir, a, b);
  else throw new Error(`unknown command ${cmd}`);
} catch (e) {
  notok(`${cmd} ran`, e.stack);
}
process.exit(failures ? 1 : 0);
