" Vim filetype detection for nnx, the declarative neural-network language: *.nnx files.
autocmd BufRead,BufNewFile *.nnx setfiletype nnx
