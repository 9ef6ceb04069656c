// Entry point the Pulumi CLI runs for `--policy-pack policy`. Tests import ./policies instead:
// constructing a PolicyPack starts its gRPC server.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("mlflow-platform-guards", { enforcementLevel: "mandatory", policies });
