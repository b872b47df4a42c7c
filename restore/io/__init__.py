"""The one place restore reads and writes user files.

- :mod:`.documents`: one document from a file or stdin, every failure one clear line;
- :mod:`.records`: a collection, streamed record by record (JSONL, Parquet, a directory);
- :mod:`.corpus`: clean reference text for building models;
- :mod:`.compression`: one decompressor that reads every stream to its verified end;
- :mod:`.writers` and :mod:`.names`: outputs that never overwrite an input, never
  replace a special file, and never give two documents one name.
"""
