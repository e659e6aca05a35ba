/** Captures what a CLI command writes (the `io` argument of the run*Command functions). */
export function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      out: { write: (t: string) => out.push(t) },
      err: { write: (t: string) => err.push(t), isTTY: false },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
