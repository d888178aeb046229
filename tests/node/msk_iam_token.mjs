// msk_iam_token.mjs: the reference MSK IAM token from npm's aws-msk-iam-sasl-signer-js, for
// tests/integration/sasl_msk_iam.sh to compare kesm's sasl/msk_iam.c with byte for byte.
//
// Reads one JSON object per line on stdin:
//   {"region", "accessKeyId", "secretAccessKey", "sessionToken"?, "now" (Unix seconds),
//    "credentialsExpiry"? (Unix seconds)}
// and prints one JSON line per input: {"token", "expiryTime" (ms)} or {"error"}.
// The clock is pinned to |now| (Date is replaced while the signer runs) and the credentials come
// from a provider function, so nothing is read from the environment, a file or the network.
import { createInterface } from 'node:readline';
import { generateAuthTokenFromCredentialsProvider } from 'aws-msk-iam-sasl-signer-js';

const RealDate = Date;
function pinClock(ms) {
    globalThis.Date = class extends RealDate {
        constructor(...args) {
            if (args.length === 0) {
                super(ms);
            } else {
                super(...args);
            }
        }
        static now() {
            return ms;
        }
    };
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
    if (!line.trim()) continue;
    const c = JSON.parse(line);
    const creds = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
    if (c.sessionToken) creds.sessionToken = c.sessionToken;
    if (c.credentialsExpiry) creds.expiration = new RealDate(c.credentialsExpiry * 1000);
    pinClock(c.now * 1000);
    try {
        const r = await generateAuthTokenFromCredentialsProvider({
            region: c.region,
            awsCredentialsProvider: async () => creds,
        });
        console.log(JSON.stringify({ token: r.token, expiryTime: r.expiryTime }));
    } catch (e) {
        console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
    } finally {
        globalThis.Date = RealDate;
    }
}
