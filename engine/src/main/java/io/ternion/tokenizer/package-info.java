/** Tokenizers: byte-level BPE (GPT-2 family) and SentencePiece BPE, read from GGUF or tokenizer.json. */
package io.ternion.tokenizer;
