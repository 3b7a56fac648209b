from albert_tfx.cli import console_main

console_main()
