/** `pnpm bench` for @pagelab/hmm. */
import { benchHmmRangeFault } from "./hmm.bench.js";

benchHmmRangeFault();
