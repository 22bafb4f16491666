// The HTTP ceiling: bare Fastify over HTTPS on this machine, parsing the same JSON bodies and
// answering a constant. Started as its own process, like the service.
import Fastify from 'fastify';
import selfsigned from 'selfsigned';

const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
const app = Fastify({ https: { key: pems.private, cert: pems.cert }, bodyLimit: 1_048_576 });
const answer = { response: { code: '1001', description: 'Queued', transid: '00000000-0000-4000-8000-000000000000' } };
app.put('/resources/v2/customerprofiles/:appid', async (request, reply) => {
  // Touch the parsed body so the parse cannot be skipped.
  if (!Array.isArray(request.body?.Records)) return reply.code(400).send({});
  return reply.code(202).send(answer);
});
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
process.stdout.write(`${JSON.stringify({ url: `https://127.0.0.1:${process.argv[2]}` })}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
