// Exact JSON for the pqtool contract (Node 20 has no JSON.parse source access):
//  - integer tokens parse to BigInt, other numbers (and -0) to Number (so int64 stays exact);
//  - objects parse to Map (key order kept, integer-like keys are not reordered);
//  - stringify writes BigInt as integer tokens, Map as objects, -0 as -0.0.

export function parseJson(text) {
  let i = 0;
  const s = text;
  const ws = () => {
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const fail = (msg) => { throw new SyntaxError(`JSON ${msg} at offset ${i}: ${JSON.stringify(s.slice(Math.max(0, i - 20), i + 20))}`); };
  const value = () => {
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      const m = new Map();
      ws();
      if (s[i] === '}') { i++; return m; }
      for (;;) {
        ws();
        if (s[i] !== '"') fail('expected key');
        const k = str();
        ws();
        if (s[i] !== ':') fail('expected :');
        i++;
        if (m.has(k)) fail(`duplicate key ${JSON.stringify(k)}`);
        m.set(k, value());
        ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === '}') { i++; return m; }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (s[i] === ']') { i++; return a; }
      for (;;) {
        a.push(value());
        ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === ']') { i++; return a; }
        fail('expected , or ]');
      }
    }
    if (c === '"') return str();
    if (s.startsWith('true', i)) { i += 4; return true; }
    if (s.startsWith('false', i)) { i += 5; return false; }
    if (s.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(i, i + 400));
    if (!m) fail('unexpected token');
    i += m[0].length;
    if (m[0] === '-0') return -0; // keep the sign (a float column's -0.0 printed as -0)
    if (m[2] === undefined && m[3] === undefined) return BigInt(m[0]);
    return Number(m[0]);
  };
  const str = () => {
    // fast path: no escapes
    const start = ++i;
    let j = start;
    for (;;) {
      const c = s.charCodeAt(j);
      if (c === 34) { i = j + 1; return s.slice(start, j); }
      if (c === 92) break;
      if (c < 32) { i = j; fail('control character in string'); }
      if (Number.isNaN(c)) { i = j; fail('unterminated string'); }
      j++;
    }
    let out = s.slice(start, j);
    i = j;
    for (;;) {
      const c = s[i];
      if (c === undefined) fail('unterminated string');
      if (c === '"') { i++; return out; }
      if (c === '\\') {
        const e = s[i + 1];
        i += 2;
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const h = s.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
            out += String.fromCharCode(parseInt(h, 16));
            i += 4;
            break;
          }
          default: fail('bad escape');
        }
        continue;
      }
      if (c.charCodeAt(0) < 32) fail('control character in string');
      out += c;
      i++;
    }
  };
  const v = value();
  ws();
  if (i !== s.length) fail('trailing characters');
  return v;
}

/** Parses JSON lines (one value per non-empty line). */
export function parseJsonLines(text) {
  const out = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      out.push(parseJson(line));
    } catch (e) {
      throw new SyntaxError(`line ${lineNo}: ${e.message}`);
    }
  }
  return out;
}

export function stringifyJson(v) {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'boolean': return v ? 'true' : 'false';
    case 'bigint': return v.toString();
    case 'number':
      if (Object.is(v, -0)) return '-0.0';
      if (!Number.isFinite(v)) throw new Error(`non-finite number ${v} has no JSON form`);
      return String(v);
    case 'string': return JSON.stringify(v);
    default: break;
  }
  if (Array.isArray(v)) return `[${v.map(stringifyJson).join(',')}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${JSON.stringify(k)}:${stringifyJson(x)}`).join(',')}}`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${stringifyJson(x)}`).join(',')}}`;
  throw new Error(`cannot stringify ${typeof v}`);
}

/** Display form for diagnostics: like JSON, with BigInt suffixed n and Maps as {..}. */
export function show(v, max = 200) {
  let out;
  try {
    out = showInner(v);
  } catch {
    out = String(v);
  }
  return out.length > max ? `${out.slice(0, max)}…(${out.length} chars)` : out;
}

function showInner(v) {
  if (v === undefined) return '<missing>';
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `${v}`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(showInner).join(',')}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${JSON.stringify(k)}:${showInner(x)}`).join(',')}}`;
  if (v instanceof Uint8Array) return `bytes(${Buffer.from(v).toString('hex')})`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${showInner(x)}`).join(',')}}`;
  return String(v);
}
