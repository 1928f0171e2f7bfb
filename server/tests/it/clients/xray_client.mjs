// A client that is not Rust, doing what Xray client libraries do (the Jenkins and Maven plugins,
// the Python and Node examples in Xray's documentation): POST the credentials as JSON, take the
// answer's text, strip its quotes, and send it back as a bearer token.
//
//   XRAY_BASE_URL=http://127.0.0.1:3000 XRAY_CLIENT_ID=... XRAY_CLIENT_SECRET=... node xray_client.mjs
//
// Prints one JSON line: {"authenticate": <status>, "whoami": <status>, "user": <whoami body>}.

const base = process.env.XRAY_BASE_URL;
const clientId = process.env.XRAY_CLIENT_ID;
const clientSecret = process.env.XRAY_CLIENT_SECRET;
if (!base || !clientId || !clientSecret) {
  console.error('set XRAY_BASE_URL, XRAY_CLIENT_ID and XRAY_CLIENT_SECRET');
  process.exit(2);
}

const auth = await fetch(`${base}/api/v2/authenticate`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ client_id: clientId, client_secret: clientSecret }),
});
const text = await auth.text();
if (auth.status !== 200) {
  console.log(JSON.stringify({ authenticate: auth.status, error: JSON.parse(text).error }));
  process.exit(0);
}
const token = text.replace(/"/g, '');

const who = await fetch(`${base}/api/v2/whoami`, {
  headers: { Authorization: `Bearer ${token}` },
});
console.log(JSON.stringify({ authenticate: auth.status, whoami: who.status, user: await who.json() }));
