/**
 * @pagelab/gup: get_user_pages / pin_user_pages with the FOLL_* flags, the pin counting
 * bias, long-term pin rules for fsdax, page proxies and a simulated DMA engine.
 */
export * from "./foll.js";
export * from "./config.js";
export * from "./grab.js";
export * from "./vmaFlags.js";
export * from "./follow.js";
export * from "./faultin.js";
export * from "./gup.js";
export * from "./fast.js";
export * from "./proxy.js";
export * from "./proxyGup.js";
export * from "./dma.js";
export * from "./access.js";
export * from "./testing.js";
