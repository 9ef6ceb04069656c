// What every component shares about flavours: the discriminant its args carry, and the
// constructor type that makes a component's outputs follow the flavour of its args.
import type * as pulumi from "@pulumi/pulumi";

/** Where a component runs: Docker on one host, or AWS managed services. */
export type Flavour = "docker" | "aws";

/**
 * `new X(name, args)` returns the outputs of `args.platform`'s flavour only: a Docker
 * BackendStore has `connectionUri`, an AWS one has no such member. The compiler, not
 * `pulumi up`, rejects a wrong combination.
 */
export type FlavouredConstructor<Args extends { readonly platform: Flavour }, Instance, OutputsByFlavour extends Record<Flavour, object>> =
    new <A extends Args>(name: string, args: A, opts?: pulumi.ComponentResourceOptions) => Instance & OutputsByFlavour[A["platform"]];
