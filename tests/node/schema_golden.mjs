// schema_golden.mjs: writes the golden inputs of tests/unit/test_schema_*.c into
// tests/golden/schema/ with independent encoders from npm: avsc (Avro), protobufjs (Protobuf
// binary) and @bufbuild/protobuf (the proto3 JSON mapping of the same bytes), and the Glue
// framing with node's zlib. Run by hand (node tests/node/schema_golden.mjs) when the inputs
// change; the outputs are committed. Each NAME.bin has a NAME.json: what the data decodes to.
import { createFileRegistry, fromBinary, toJson } from '@bufbuild/protobuf';
import * as wkt from '@bufbuild/protobuf/wkt';
import avro from 'avsc';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const IN = path.join(HERE, '../integration/schema_registry');
const OUT = path.join(HERE, '../golden/schema');
fs.mkdirSync(OUT, { recursive: true });
const read = (f) => fs.readFileSync(path.join(IN, f), 'utf8');
const put = (name, bin, json) => {
  fs.writeFileSync(path.join(OUT, `${name}.bin`), bin);
  fs.writeFileSync(path.join(OUT, `${name}.json`), `${JSON.stringify(json)}\n`);
};

// Avro (decimal as its decimal string, bytes as latin1 strings: the mapping kesm documents)
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
}
const opts = () => ({ logicalTypes: { decimal: DecimalType } });
const latin1 = (v) => {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(latin1);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, latin1(x)]));
  return v;
};
const order = avro.Type.forSchema(JSON.parse(read('order_v1.avsc')), opts());
JSON.parse(read('orders.json')).forEach((o, i) => {
  const obj = { ...o, blob: Buffer.from(o.blob, 'hex'), digest: Buffer.from(o.digest.replace(/ /g, ''), 'hex') };
  const bin = order.toBuffer(obj);
  put(`avro_order${i}`, bin, latin1(order.fromBuffer(bin)));
});
const addr = avro.Type.forSchema(JSON.parse(read('address.avsc')), opts());
const ship = avro.Type.forSchema(JSON.parse(read('order_ref.avsc')), { ...opts(), registry: { 'com.acme.Address': addr } });
const shipBin = ship.toBuffer({ id: 77, from: { city: 'Lyon', zip: null }, to: { city: 'Nice', zip: '06000' } });
put('avro_shipment', shipBin, ship.fromBuffer(shipBin));

// Protobuf: protobufjs writes the bytes, @bufbuild/protobuf reads them back as proto3 JSON.
const root = new protobuf.Root();
root.resolvePath = (o, t) => (path.isAbsolute(t) ? t : path.join(IN, t));
root.loadSync(['shop.proto', 'glue.proto'].map((f) => path.join(IN, f)));
root.resolveAll();
const fds = fromBinary(wkt.FileDescriptorSetSchema, descriptor.FileDescriptorSet.encode(root.toDescriptor('proto3')).finish());
const names = new Set();
const collect = (s, msgs, enums) => {
  for (const e of enums) names.add(`${s}.${e.name}`);
  for (const m of msgs) {
    names.add(`${s}.${m.name}`);
    collect(`${s}.${m.name}`, m.nestedType, m.enumType);
  }
};
for (const f of fds.file) collect(f.package ? `.${f.package}` : '', f.messageType, f.enumType);
const fix = (scope, msgs) => {
  for (const m of msgs) {
    const s = `${scope}.${m.name}`;
    for (const fld of m.field) {
      if (!fld.jsonName) fld.jsonName = fld.name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
      if (fld.name === 'by_id') fld.jsonName = 'byId';
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
  f.dependency = [...['any', 'duration', 'empty', 'field_mask', 'struct', 'timestamp', 'wrappers'].map((n) => `google/protobuf/${n}.proto`), ...user.filter((o) => o !== f && o.package && used.some((t) => t.startsWith(`.${o.package}.`))).map((o) => o.name)];
}
const byName = Object.fromEntries(user.map((f) => [f.name, f]));
const registry = createFileRegistry(...user.map((f) => createFileRegistry(f, (n) => wktFiles[n] || byName[n])));
const Order = root.lookupType('shop.v1.Order');
const protoCases = {
  proto_order: ['shop.v1.Order', Order.fromObject({
    id: '-9007199254740993', customerName: 'Ann Ünïcode', lines: [{ sku: 'a', qty: 2, prices: [1.5, 2.25] }, { sku: 'b' }],
    counters: { x: '5', y: '-1' }, status: 'PAID', blob: Buffer.from([1, 2, 3, 250]), maybe: 0, phone: '+1 555',
    created: { seconds: 1700000000, nanos: 120000000 }, note: { value: '' }, total: { currencyCode: 'EUR', units: '12', nanos: 500000000 },
    big: '18446744073709551615', delta: -7, flag: true, history: [0, 2, 1], byId: { 7: { sku: 'z', qty: 1 } },
  })],
  proto_other: ['shop.v1.Other', root.lookupType('shop.v1.Other').fromObject({ text: 'second message of the file', numbers: [1, -2, 300000] })],
  proto_line: ['shop.v1.Order.Line', root.lookupType('shop.v1.Order.Line').fromObject({ sku: 'nested', qty: 3 })],
  proto_reading: ['glue.v1.Reading', root.lookupType('glue.v1.Reading').fromObject({ sensor: 's-1', celsius: 21.5, tags: ['a', 'b'], at: '1700000000000' })],
};
for (const [name, [type, msg]] of Object.entries(protoCases)) {
  const bin = Buffer.from(root.lookupType(type).encode(msg).finish());
  const desc = registry.getMessage(type);
  put(name, bin, toJson(desc, fromBinary(desc, bin)));
}

// Framings: Confluent header + Avro; Confluent Protobuf with message indexes [1]; Glue with zlib.
const avroBin = fs.readFileSync(path.join(OUT, 'avro_order0.bin'));
const other = fs.readFileSync(path.join(OUT, 'proto_other.bin'));
fs.writeFileSync(path.join(OUT, 'frame_confluent_avro.bin'), Buffer.concat([Buffer.from([0, 0, 0, 1, 0x2c]), avroBin]));
fs.writeFileSync(path.join(OUT, 'frame_confluent_proto.bin'), Buffer.concat([Buffer.from([0, 0, 0, 0, 7, 2, 2]), other]));
fs.writeFileSync(path.join(OUT, 'frame_glue_zlib.bin'), Buffer.concat([Buffer.from([3, 5]), Buffer.from('7b8e9f1011114222833394445555666' + '6', 'hex'), zlib.deflateSync(avroBin)]));
console.log(`wrote ${fs.readdirSync(OUT).length} files to ${OUT}`);
