package io.ternion.chat;

/** A place in the template source, 1-based, for error messages. */
record Pos(int line, int column) {
    @Override
    public String toString() {
        return "line " + line + ", column " + column;
    }
}
