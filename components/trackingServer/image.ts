// Identity of the MLflow image built from images/tracking-server, shared by both targets.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * The nearest directory above `from` with a package.json: this repository from the sources,
 * and also from the compiled package (bin/ has none), or node_modules/<package> when installed.
 */
export function packageRoot(from: string): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "package.json"))) return dir;
        if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
    }
}

export const TRACKING_SERVER_CONTEXT = path.join(packageRoot(__dirname), "images", "tracking-server");
/**
 * The same directory relative to the project directory, where Pulumi runs the program
 * (images/tracking-server for this stack, node_modules/<package>/images/tracking-server for a
 * program that installed the package): build inputs in state are then identical on every
 * machine, so another checkout (CI) sees no diff and does not rebuild and re-push a tag that
 * immutable ECR tags refuse.
 */
export const TRACKING_SERVER_CONTEXT_RELATIVE = path.relative(process.cwd(), TRACKING_SERVER_CONTEXT).split(path.sep).join("/");
const CONTEXT_FILES = [
    "Dockerfile", "requirements.txt", "entrypoint.py", "mlflow_platform_auth.py", "project_db_init.py", "serve_model.py", "db_dialects.json", ".dockerignore",
    "artifacts-plugin/pyproject.toml", "artifacts-plugin/mlflow_proxied_s3/__init__.py",
];

/** The pinned MLflow version, read from the image's requirements so it is stated once. */
export function mlflowVersion(contextDir = TRACKING_SERVER_CONTEXT): string {
    const requirements = fs.readFileSync(path.join(contextDir, "requirements.txt"), "utf8");
    const match = /^mlflow==(\S+)\s*$/m.exec(requirements);
    if (!match) throw new Error(`${contextDir}/requirements.txt must pin mlflow==<version>`);
    return match[1];
}

/**
 * `<mlflow version>-<hash of the build context and base image>`: a new tag whenever the
 * image would change, so the container or task is replaced then and only then.
 */
export function trackingServerImageTag(baseImage: string, contextDir = TRACKING_SERVER_CONTEXT, platform?: string): string {
    const hash = createHash("sha256");
    hash.update(baseImage);
    // An arm64 and an amd64 build are different images: they must not share a tag.
    if (platform !== undefined) hash.update(`\0platform\0${platform}`);
    for (const file of CONTEXT_FILES) {
        hash.update(`\0${file}\0`);
        hash.update(fs.readFileSync(path.join(contextDir, file)));
    }
    return `${mlflowVersion(contextDir)}-${hash.digest("hex").slice(0, 12)}`;
}
