import { describe, expect, it } from "vitest";
import { isKernelError } from "@pagelab/mm-core";
import { checkDaxReflinkMount } from "../mechanism/oneToOne.js";
import { daxInodeShouldEnable, parseDaxMountOption } from "./mount.js";

describe("dax mount modes", () => {
  it("parses dax, dax=always|never|inode and rejects anything else", () => {
    expect(parseDaxMountOption(undefined)).toBe("inode");
    expect(parseDaxMountOption(null, true)).toBe("always");
    expect(parseDaxMountOption("never")).toBe("never");
    expect(() => parseDaxMountOption("sometimes")).toThrow("Bad value for 'dax'");
  });

  it("S_DAX: never wins, always needs a DAX-capable device, inode mode follows FS_XFLAG_DAX", () => {
    const on = { supportsDax: true, flagDax: true };
    const off = { supportsDax: true, flagDax: false };
    expect(daxInodeShouldEnable("never", on)).toBe(false);
    expect(daxInodeShouldEnable("always", off)).toBe(true);
    expect(daxInodeShouldEnable("always", { supportsDax: false, flagDax: true })).toBe(false);
    expect([daxInodeShouldEnable("inode", on), daxInodeShouldEnable("inode", off)]).toEqual([true, false]);
  });

  it("kernels up to 5.18 refuse DAX on a reflink filesystem at mount", () => {
    let code = "";
    try {
      checkDaxReflinkMount({ dax: true, reflink: true, fsName: "pmem0" });
    } catch (e) {
      if (isKernelError(e)) code = e.code;
    }
    expect(code).toBe("EINVAL");
    expect(() => checkDaxReflinkMount({ dax: true, reflink: false, fsName: "pmem0" })).not.toThrow();
  });
});
