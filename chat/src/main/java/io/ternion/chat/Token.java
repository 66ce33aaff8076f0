package io.ternion.chat;

/**
 * One lexical token. {@code value} is the decoded literal for strings ({@link String}), integers
 * ({@link Long}) and floats ({@link Double}); for the other types it is the source text.
 */
record Token(Type type, Object value, Pos pos) {
    enum Type {
        /** Template text outside tags, already trimmed by the whitespace-control rules. */
        DATA,
        VARIABLE_BEGIN,
        VARIABLE_END,
        BLOCK_BEGIN,
        BLOCK_END,
        NAME,
        STRING,
        INTEGER,
        FLOAT,
        OPERATOR,
        EOF
    }

    String text() {
        return String.valueOf(value);
    }

    boolean is(Type t) {
        return type == t;
    }

    boolean isName(String name) {
        return type == Type.NAME && value.equals(name);
    }

    boolean isOperator(String op) {
        return type == Type.OPERATOR && value.equals(op);
    }

    /** How the token reads in an error message, after Jinja2's {@code describe_token}. */
    String describe() {
        return switch (type) {
            case DATA -> "template data";
            case VARIABLE_BEGIN -> "begin of print statement";
            case VARIABLE_END -> "end of print statement";
            case BLOCK_BEGIN -> "begin of statement block";
            case BLOCK_END -> "end of statement block";
            case EOF -> "end of template";
            case STRING -> "string literal";
            default -> "'" + value + "'";
        };
    }
}
