" Vim filetype plugin for nnx (.nnx): `#` comments, 2-space indentation, `import` paths.
if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1

" Line continuations below need 'cpoptions' without C, whatever the user's vimrc set.
let s:cpo_save = &cpo
set cpo&vim

setlocal commentstring=#\ %s
setlocal comments=:#
setlocal formatoptions-=t formatoptions+=croql
setlocal shiftwidth=2 softtabstop=2 expandtab
" `gf` on an import path: `import "basics.nnx"`.
setlocal suffixesadd=.nnx
setlocal include=^\\s*import\\s\\+\"\\zs[^\"]*\\ze\"

let b:undo_ftplugin = 'setlocal commentstring< comments< formatoptions< shiftwidth< softtabstop<'
      \ . ' expandtab< suffixesadd< include<'

let &cpo = s:cpo_save
unlet s:cpo_save
