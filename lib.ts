// The package's entry for other Pulumi programs: `import { MlflowPlatform, platformArgs } from
// "mlflow-platform"` (docs/library.md), compiled to bin/lib.js by `npm pack` (prepack).
// index.ts stays the entry of this repository's own stack. package.json serves both:
// - Node applies "exports" only to imports by name, "via a node_modules lookup or a
//   self-reference to its own name", where it takes precedence over "main"
//   (https://nodejs.org/api/packages.html#exports); a require() matches "node" first: bin/lib.js.
// - Pulumi's cmd/run (the program's entry) reads exports["."] too, before "main", taking its
//   "default": that is index.ts, so `pulumi up` here still runs the stack (tests/languageHost.test.ts).
// - tsc takes "types" (bin/lib.d.ts) under node16/bundler resolution, and top-level "types" under node10.
export { MlflowPlatform, MLFLOW_PLATFORM_TYPE } from "./components/platform";
export type {
    AwsPlatformArgs, ExistingVpc, LocalPlatformArgs, MlflowPlatformArgs, PlatformOutputs, ProjectLogin,
} from "./components/platform";
export { CONFIG_KEYS, CONFIG_SCHEMA, ConfigError, platformArgs } from "./components/config";
export type {
    AwsSettings, BackendEngine, ConfigKey, CpuArchitecture, LocalImages, LocalSettings, MonitoringSettings, PlatformConfig, PlatformSettings, PlatformUserSetting, ProjectConfig, Target, UserConfig, UserRole,
} from "./components/config";

// The parts MlflowPlatform creates, for a program that composes them differently.
export { ArtifactStore } from "./components/artifactStore";
export type { ArtifactStoreArgs } from "./components/artifactStore";
export { AuthProxy } from "./components/authProxy";
export type { AuthProxyArgs } from "./components/authProxy";
export { BackendStore } from "./components/backendStore";
export type { BackendStoreArgs } from "./components/backendStore";
export { BucketInit } from "./components/bucketInit";
export type { BucketInitArgs } from "./components/bucketInit";
export { ModelServer } from "./components/modelServer";
export type { ModelServerArgs } from "./components/modelServer";
export { Monitoring } from "./components/monitoring";
export type { MonitoringArgs } from "./components/monitoring";
export { Network } from "./components/network";
export type { NetworkArgs } from "./components/network";
export { ProjectDatabase } from "./components/projectDatabase";
export type { ProjectDatabaseArgs } from "./components/projectDatabase";
export { ProjectPrune } from "./components/projectPrune";
export type { ProjectPruneArgs } from "./components/projectPrune";
export { TrackingServer } from "./components/trackingServer";
export type { TrackingServerArgs } from "./components/trackingServer";
