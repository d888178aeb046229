// sns_server.mjs: runs the SNS emulator of the npm package serverless-offline-sns (its SNSServer
// class on an express app) on 127.0.0.1, without the Serverless framework around it.
// usage: node sns_server.mjs PORT_FILE   (port 0: any free port, written to PORT_FILE)
// It answers the SNS query API (CreateTopic, Subscribe, Publish, ...) and delivers published
// messages to http subscribers. It exits by itself after 600 s.
import express from "express";
import { writeFileSync } from "fs";
import { SNSServer } from "./node_modules/serverless-offline-sns/dist/sns-server.js";

const portFile = process.argv[2];
const app = express();
new SNSServer(() => {}, app, "us-east-1", "000000000000");
const server = app.listen(0, "127.0.0.1", () => {
    writeFileSync(portFile, String(server.address().port));
});
setTimeout(() => process.exit(0), 600000).unref();
