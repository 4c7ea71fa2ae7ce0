/**
 * xfs-lite benchmarks (`pnpm bench`): each module prints its own `name: N` lines when
 * imported — the on-disk btrees and transaction commits, then reflink of a file with
 * many extents and the refcount/rmap update cost.
 */
import "./infra.bench.js";
import "./files.bench.js";
