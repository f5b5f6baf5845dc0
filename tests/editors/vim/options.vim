" options.vim — checks what the nnx ftplugin and indent plugin set on the current buffer, then
" re-indents the whole buffer with them: writes `name=value` rows and one `reindent` row per line
" whose indentation changed (none for a correctly indented file) to g:nnx_out.
try
  let s:rows = []
  for s:opt in ['filetype', 'syntax', 'commentstring', 'comments', 'shiftwidth', 'softtabstop',
        \ 'expandtab', 'indentexpr', 'indentkeys']
    call add(s:rows, s:opt . '=' . eval('&' . s:opt))
  endfor
  let s:before = getline(1, '$')
  silent normal! gg=G
  let s:after = getline(1, '$')
  for s:i in range(len(s:before))
    if s:before[s:i] !=# s:after[s:i]
      call add(s:rows, printf("reindent %d: %s", s:i + 1, s:after[s:i]))
    endif
  endfor
  call writefile(s:rows, g:nnx_out)
  qall!
catch
  call writefile(['ERROR: ' . v:exception . ' at ' . v:throwpoint], g:nnx_out)
  cquit!
endtry
