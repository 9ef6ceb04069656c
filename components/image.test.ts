import * as fs from "fs";
import * as path from "path";
import { TRACKING_SERVER_CONTEXT, TRACKING_SERVER_CONTEXT_RELATIVE, trackingServerImageTag } from "./image";

const BASE = "python:3.12.11-slim-bookworm";

test("a tag per platform: arm64 and amd64 builds never share one", () => {
    const arm = trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/arm64");
    const amd = trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/amd64");
    expect(arm).not.toBe(amd);
    expect(arm).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
});

test("the same inputs give the same tag (no rebuild on an unchanged checkout)", () => {
    expect(trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/amd64")).toBe(trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/amd64"));
});

test("without a platform the tag is what it was (the Docker flavour's image is not rebuilt)", () => {
    expect(trackingServerImageTag(BASE)).not.toBe(trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT, "linux/amd64"));
    expect(trackingServerImageTag(BASE)).toBe(trackingServerImageTag(BASE, TRACKING_SERVER_CONTEXT));
});

test("the relative build context names the same directory from the project root", () => {
    const projectRoot = path.join(__dirname, "..");
    expect(path.isAbsolute(TRACKING_SERVER_CONTEXT_RELATIVE)).toBe(false);
    expect(path.resolve(projectRoot, TRACKING_SERVER_CONTEXT_RELATIVE)).toBe(path.resolve(TRACKING_SERVER_CONTEXT));
    expect(fs.existsSync(path.join(projectRoot, "Pulumi.yaml"))).toBe(true);
});
