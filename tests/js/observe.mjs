// Shared by the JS SDK scripts: read the positional arguments, print one JSON line per
// observation ({"event": ...}) for pytest, and give up after a deadline (exit 3).
export function args(usage, count) {
  const values = process.argv.slice(2, 2 + count);
  if (values.length < count || values.some((v) => !v)) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return values;
}

export const report = (event, data = {}) => console.log(JSON.stringify({ event, ...data }));

export function deadline(ms = 10_000) {
  return setTimeout(() => {
    report("timeout");
    process.exit(3);
  }, ms);
}
