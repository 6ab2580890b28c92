// Markdown tables, printed to the terminal and written to docs/BENCHMARKS.md.

export function fmt(v, digits = 2) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    const f = 10 ** (Math.abs(v) >= 10 ? Math.min(digits, 1) : digits);
    return String(Math.round(v * f) / f);
  }
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A signed difference, `+1.5` or `−2`. */
export function signed(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${v >= 0 ? '+' : '−'}${fmt(Math.abs(v))}`;
}

/** `columns`: [{ key, title, digits? }] or plain keys. */
export function markdownTable(rows, columns) {
  const cols = (columns ?? Object.keys(rows[0] ?? {})).map((c) => (typeof c === 'string' ? { key: c, title: c } : c));
  const head = `| ${cols.map((c) => c.title).join(' | ')} |`;
  const sep = `|${cols.map(() => '---').join('|')}|`;
  const body = rows.map((r) => `| ${cols.map((c) => fmt(r[c.key], c.digits)).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

/** A target verdict row: what, target, measured, met. */
export function verdictTable(verdicts) {
  return markdownTable(
    verdicts.map((v) => ({ ...v, met: v.met === null ? 'not measured' : v.met ? 'met' : '**missed**' })),
    [
      { key: 'what', title: 'target' },
      { key: 'limit', title: 'limit' },
      { key: 'measured', title: 'measured (median)' },
      { key: 'met', title: 'result' },
    ],
  );
}

/**
 * Renders results whose shape this file does not know (the other engineers'
 * benches): arrays of flat objects become tables, scalars a list, anything
 * else fenced JSON.
 */
export function genericMarkdown(result) {
  const out = [];
  const scalars = [];
  const visit = (name, v) => {
    if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
      // Nested values (per-run samples and the like) stay in the JSON results, not in the table.
      const scalarKeys = [...new Set(v.flatMap((x) => Object.keys(x)))].filter((k) =>
        v.every((x) => x[k] === null || typeof x[k] !== 'object'),
      );
      out.push(`${name ? `**${name}**\n\n` : ''}${markdownTable(v, scalarKeys)}`);
    } else if (v && typeof v === 'object' && !Array.isArray(v)) {
      const entries = Object.entries(v);
      const allRows =
        entries.length &&
        entries.every(
          ([, x]) =>
            x &&
            typeof x === 'object' &&
            !Array.isArray(x) &&
            Object.values(x).every((y) => y === null || typeof y !== 'object'),
        );
      if (allRows) {
        const rows = entries.map(([k, x]) => ({ name: k, ...x }));
        out.push(
          `${name ? `**${name}**\n\n` : ''}${markdownTable(rows, [...new Set(rows.flatMap((x) => Object.keys(x)))])}`,
        );
      } else {
        for (const [k, x] of entries) visit(name ? `${name}.${k}` : k, x);
      }
    } else if (v === null || typeof v !== 'object') {
      scalars.push(`- ${name}: ${fmt(v)}`);
    } else {
      out.push(`**${name}**\n\n\`\`\`json\n${JSON.stringify(v, null, 2).slice(0, 4000)}\n\`\`\``);
    }
  };
  visit('', result);
  return [scalars.join('\n'), ...out].filter(Boolean).join('\n\n');
}
