" undo.vim — run by a Vim started with a user's vimrc (vim.test.js): the messages so far (an
" error while loading the plugins shows there), 'cpoptions' as the vimrc left it, a few
" options the ftplugin sets, then the same options after running b:undo_ftplugin and
" b:undo_indent; written as `name=value` rows to g:nnx_out.
try
  let s:rows = ['errmsg=' . v:errmsg, 'cpo=' . &cpo, 'filetype=' . &filetype]
  let s:rows += ['shiftwidth=' . &shiftwidth, 'commentstring=' . &commentstring]
  execute b:undo_ftplugin
  execute b:undo_indent
  let s:rows += ['undone_shiftwidth=' . &shiftwidth, 'undone_commentstring=' . &commentstring]
  let s:rows += ['undone_indentexpr=' . &indentexpr]
  call writefile(s:rows, g:nnx_out)
  qall!
catch
  call writefile(['ERROR: ' . v:exception . ' at ' . v:throwpoint], g:nnx_out)
  cquit!
endtry
