// What every component shares about targets: the discriminant its args carry, and the
// constructor type that makes a component's outputs follow the target of its args.
import type * as pulumi from "@pulumi/pulumi";

/** Where a component runs: Docker on one host, or AWS managed services. */
export type Target = "local" | "aws";

/**
 * `new X(name, args)` returns the outputs of `args.target`'s target only: a Docker
 * BackendStore has `connectionUri`, an AWS one has no such member. The compiler, not
 * `pulumi up`, rejects a wrong combination.
 */
export type TargetedConstructor<Args extends { readonly target: Target }, Instance, OutputsByTarget extends Record<Target, object>> =
    new <A extends Args>(name: string, args: A, opts?: pulumi.ComponentResourceOptions) => Instance & OutputsByTarget[A["target"]];
