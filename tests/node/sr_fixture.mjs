// sr_fixture.mjs: a small schema registry on loopback for kesm's tests, speaking the parts of
// the Confluent Schema Registry REST API that @confluentinc/schemaregistry's serializers and
// kesm use, and AWS Glue's GetSchemaVersion (JSON 1.1) for Glue-framed records.
//
//   node sr_fixture.mjs --port-file FILE --state FILE [--port N] [--user U --password P]
//                       [--glue-log FILE]
//
// Confluent: POST /subjects/S/versions (register; the same schema gets the same id across
// subjects), POST /subjects/S (look a schema up), GET /schemas/ids/N (404 error_code 40403 when
// unknown), GET /subjects/S/versions, GET /subjects/S/versions/V|latest (40401 / 40402), and
// GET|PUT /config. With --user every request needs that HTTP Basic user and password (401
// otherwise). Glue: POST / with X-Amz-Target AWSGlue.GetSchemaVersion answers from the schemas
// put with POST /glue/schemas {"SchemaVersionId","SchemaDefinition","DataFormat"} (400
// EntityNotFoundException when unknown); each Glue request's method, path, headers and body are
// appended as one JSON line to --glue-log for the SigV4 check (botocore) of the test. State is
// kept in --state (so a restarted fixture serves the same ids); the port goes to --port-file
// once the fixture listens. Every request is logged to stderr.
import fs from 'node:fs';
import http from 'node:http';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const load = () => {
  try {
    return JSON.parse(fs.readFileSync(args.state, 'utf8'));
  } catch {
    return { schemas: [], subjects: {}, glue: {} };
  }
};
const state = load();
const save = () => fs.writeFileSync(args.state, JSON.stringify(state));

const send = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/vnd.schemaregistry.v1+json' });
  res.end(text);
};
const sameSchema = (a, b) =>
  a.schema === b.schema &&
  (a.schemaType || 'AVRO') === (b.schemaType || 'AVRO') &&
  JSON.stringify(a.references || []) === JSON.stringify(b.references || []);
const schemaReply = (s) => {
  const out = { schema: s.schema };
  if (s.schemaType && s.schemaType !== 'AVRO') out.schemaType = s.schemaType;
  if (s.references && s.references.length) out.references = s.references;
  return out;
};

function register(subject, body) {
  let s = state.schemas.find((x) => sameSchema(x, body));
  if (!s) {
    s = {
      id: state.schemas.length + 1,
      schema: body.schema,
      schemaType: body.schemaType || 'AVRO',
      references: body.references || [],
    };
    state.schemas.push(s);
  }
  const versions = (state.subjects[subject] ||= []);
  let v = versions.find((x) => x.id === s.id);
  if (!v) {
    v = { version: versions.length + 1, id: s.id };
    versions.push(v);
  }
  save();
  return { s, v };
}

function versionReply(subject, v) {
  const s = state.schemas.find((x) => x.id === v.id);
  return { subject, version: v.version, id: s.id, ...schemaReply(s) };
}

function confluent(req, res, url, body) {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'config') {
    return send(res, 200, { compatibilityLevel: 'NONE' });
  }
  if (parts[0] === 'schemas' && parts[1] === 'ids' && req.method === 'GET') {
    const s = state.schemas.find((x) => x.id === Number(parts[2]));
    if (!s) return send(res, 404, { error_code: 40403, message: 'Schema not found' });
    return send(res, 200, schemaReply(s));
  }
  if (parts[0] !== 'subjects' || !parts[1]) {
    return send(res, 404, { error_code: 404, message: 'HTTP 404 Not Found' });
  }
  const subject = parts[1];
  const versions = state.subjects[subject];
  if (req.method === 'POST' && parts[2] === 'versions') {
    const { s } = register(subject, JSON.parse(body));
    return send(res, 200, { id: s.id });
  }
  if (req.method === 'POST' && parts.length === 2) {
    const want = JSON.parse(body);
    const s = state.schemas.find((x) => sameSchema(x, want));
    const v = s && versions && versions.find((x) => x.id === s.id);
    if (!v) return send(res, 404, { error_code: 40403, message: 'Schema not found' });
    return send(res, 200, versionReply(subject, v));
  }
  if (!versions) return send(res, 404, { error_code: 40401, message: `Subject '${subject}' not found.` });
  if (req.method === 'GET' && parts[2] === 'versions' && !parts[3]) {
    return send(res, 200, versions.map((v) => v.version));
  }
  if (req.method === 'GET' && parts[2] === 'versions') {
    const v = parts[3] === 'latest' ? versions[versions.length - 1] : versions.find((x) => x.version === Number(parts[3]));
    if (!v) return send(res, 404, { error_code: 40402, message: 'Version not found.' });
    return send(res, 200, versionReply(subject, v));
  }
  return send(res, 404, { error_code: 404, message: 'HTTP 404 Not Found' });
}

function glue(req, res, url, body) {
  if (args['glue-log']) {
    fs.appendFileSync(args['glue-log'],
      JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body }) + '\n');
  }
  const reply = (status, obj, type) => {
    const h = { 'Content-Type': 'application/x-amz-json-1.1' };
    if (type) h['x-amzn-ErrorType'] = type;
    res.writeHead(status, h);
    res.end(JSON.stringify(obj));
  };
  if (!String(req.headers.authorization || '').startsWith('AWS4-HMAC-SHA256 ')) {
    return reply(400, { __type: 'MissingAuthenticationTokenException', Message: 'no signature' }, 'MissingAuthenticationTokenException');
  }
  const id = JSON.parse(body).SchemaVersionId;
  const s = state.glue[id];
  if (!s) {
    return reply(400, { __type: 'EntityNotFoundException', Message: `Schema version is not found. SchemaVersionId: ${id}` }, 'EntityNotFoundException');
  }
  return reply(200, { SchemaVersionId: id, SchemaDefinition: s.SchemaDefinition, DataFormat: s.DataFormat, Status: 'AVAILABLE', VersionNumber: 1 });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, 'http://x');
    process.stderr.write(`${req.method} ${req.url}\n`);
    try {
      if (req.headers['x-amz-target']) return glue(req, res, url, body);
      if (url.pathname === '/glue/schemas' && req.method === 'POST') {
        const s = JSON.parse(body);
        state.glue[s.SchemaVersionId] = s;
        save();
        return send(res, 200, { ok: true });
      }
      if (args.user) {
        const want = 'Basic ' + Buffer.from(`${args.user}:${args.password}`).toString('base64');
        if (req.headers.authorization !== want) {
          return send(res, 401, { error_code: 40101, message: 'Unauthorized' });
        }
      }
      return confluent(req, res, url, body);
    } catch (e) {
      return send(res, 500, { error_code: 50001, message: String(e) });
    }
  });
});
server.listen(Number(args.port || 0), '127.0.0.1', () => {
  fs.writeFileSync(args['port-file'], String(server.address().port));
});
