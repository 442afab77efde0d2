// A rate-limited API on 127.0.0.1 for the tests: `node server.js <draft>` (draft-6, draft-7 or draft-8) serves
// GET /items?offset=&limit= -> {"data": [{"id": i}, ...], "total": 1000}, at most 5 requests in each second
// (express-rate-limit's fixed window), with the IETF RateLimit headers of that draft; GET /stats says how many
// requests were served and refused. It prints its port once it listens.
const express = require('express');
const { rateLimit } = require('express-rate-limit');

const draft = process.argv[2] || 'draft-6';
const stats = { served: 0, refused: 0 };
const app = express();
app.use(rateLimit({
  windowMs: 1000,
  limit: 5,
  standardHeaders: draft,
  legacyHeaders: false,
  skip: (req) => req.path === '/stats',
  handler: (req, res) => {
    stats.refused++;
    res.status(429).json({ error: 'too many requests' });
  },
}));
const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i }));
app.get('/items', (req, res) => {
  stats.served++;
  const offset = Number(req.query.offset || 0);
  const limit = Number(req.query.limit || 100);
  res.json({ data: rows.slice(offset, offset + limit), total: rows.length });
});
app.get('/stats', (req, res) => res.json(stats));
const server = app.listen(0, '127.0.0.1', () => console.log(server.address().port));
