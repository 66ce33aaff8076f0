package io.ternion.graph;

/** The FFN's gate activation ({@link Op.Glu}). */
public enum Activation { SILU, RELU_SQUARED }
