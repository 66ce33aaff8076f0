package io.ternion.harness;

/** A backend that was asked for but could not run (not built in, no device, a weight type it lacks): why. */
public record Skipped(String backend, String reason) {}
