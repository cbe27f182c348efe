// The few WASI (preview 1) calls the playground module makes, done in the
// browser: the clock (the engine's TIME and DURATION variables), random
// bytes (hash-map seeds), stdout/stderr (a panic message goes to the
// console) and exit. The environment is empty; nothing touches files.

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_INVAL = 28;

export class WasiExit extends Error {
  constructor(code) {
    super(`the module exited with code ${code}`);
    this.code = code;
  }
}

/** Imports for `wasi_snapshot_preview1`; call `bind(instance)` before use. */
export function wasiImports(log = (line) => console.warn(line)) {
  let memory = null;
  const view = () => new DataView(memory.buffer);
  const bytes = () => new Uint8Array(memory.buffer);
  const pending = { 1: '', 2: '' };
  const decoder = new TextDecoder();
  return {
    bind(instance) {
      memory = instance.exports.memory;
    },
    imports: {
      random_get(ptr, len) {
        // getRandomValues fills at most 65536 bytes per call.
        for (let off = 0; off < len; off += 65536) {
          crypto.getRandomValues(bytes().subarray(ptr + off, ptr + Math.min(len, off + 65536)));
        }
        return ERRNO_SUCCESS;
      },
      environ_sizes_get(countPtr, sizePtr) {
        view().setUint32(countPtr, 0, true);
        view().setUint32(sizePtr, 0, true);
        return ERRNO_SUCCESS;
      },
      environ_get() {
        return ERRNO_SUCCESS;
      },
      clock_time_get(id, _precision, outPtr) {
        // 0: realtime, 1: monotonic (both in nanoseconds).
        let ms;
        if (id === 0) ms = Date.now();
        else if (id === 1) ms = performance.now();
        else return ERRNO_INVAL;
        view().setBigUint64(outPtr, BigInt(Math.round(ms * 1e6)), true);
        return ERRNO_SUCCESS;
      },
      fd_write(fd, iovs, iovsLen, writtenPtr) {
        if (fd !== 1 && fd !== 2) return ERRNO_BADF;
        const v = view();
        let total = 0;
        for (let i = 0; i < iovsLen; i++) {
          const ptr = v.getUint32(iovs + i * 8, true);
          const len = v.getUint32(iovs + i * 8 + 4, true);
          pending[fd] += decoder.decode(bytes().subarray(ptr, ptr + len));
          total += len;
        }
        let nl;
        while ((nl = pending[fd].indexOf('\n')) >= 0) {
          log(pending[fd].slice(0, nl));
          pending[fd] = pending[fd].slice(nl + 1);
        }
        v.setUint32(writtenPtr, total, true);
        return ERRNO_SUCCESS;
      },
      proc_exit(code) {
        throw new WasiExit(code);
      },
    },
  };
}
