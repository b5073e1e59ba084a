// SPDX-License-Identifier: GPL-3.0-or-later
// The reference tus 1.0.0 server (@tus/server with @tus/file-store) for
// FitClip's interop tests and upload benchmark.
//
//   node server.mjs DIRECTORY [PORT]
//
// Listens on 127.0.0.1 (port 0 unless PORT is given), serves tus at
// /files/ and stores uploads in DIRECTORY (file named by the upload id,
// metadata beside it in ID.json). It also takes a plain `PUT
// /_bench/blob` whose body it streams to DIRECTORY/blob, so a benchmark
// can compare tus with a single PUT written to disk the same way.
// Prints "PORT <n>" on stdout once listening; exits on SIGTERM/SIGINT.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const directory = process.argv[2];
const port = Number(process.argv[3] ?? 0);
if (!directory) {
  console.error('usage: node server.mjs DIRECTORY [PORT]');
  process.exit(2);
}
fs.mkdirSync(directory, { recursive: true });

const tus = new Server({
  path: '/files',
  datastore: new FileStore({ directory }),
});

function putBlob(req, res) {
  const out = fs.createWriteStream(path.join(directory, 'blob'));
  let failed = false;
  const fail = () => {
    if (failed) return;
    failed = true;
    out.destroy();
    if (!res.headersSent) res.writeHead(500).end();
  };
  req.on('error', fail);
  out.on('error', fail);
  out.on('finish', () => {
    if (!failed) res.writeHead(204).end();
  });
  req.pipe(out);
}

const host = http.createServer((req, res) => {
  if (req.url === '/_bench/blob' && req.method === 'PUT') {
    putBlob(req, res);
    return;
  }
  tus.handle(req, res);
});

host.listen(port, '127.0.0.1', () => {
  process.stdout.write(`PORT ${host.address().port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => host.close(() => process.exit(0)));
}
