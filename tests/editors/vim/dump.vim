" dump.vim — writes the Vim highlight group under every token of the current buffer to g:nnx_out,
" one `line:col<Tab>text<Tab>group<Tab>group-it-links-to` row per run of one group within a token
" (`-` where no group applies). Run headless by tests/editors/lib.js (runVim).
" The group that group name links to directly (`-` for none): Structure, not Structure's Type.
function! s:Link(name) abort
  return empty(a:name) ? '' : matchstr(execute('highlight ' . a:name), 'links to \zs\S\+')
endfunction

try
  if &filetype !=# 'nnx'
    throw 'filetype is "' . &filetype . '", not "nnx": ftdetect/nnx.vim did not apply'
  endif
  " Tokens as the nnx lexer cuts them: comment, string, number, name, operator, one character.
  let s:tok = '\v^%(#.*|"%([^"\\]|\\.)*"?|\d+%(\.\d*)?%([eE][+-]?\d+)?|\.\d+%([eE][+-]?\d+)?'
        \ . '|\h\w*|\.\.\.|-\>|\*\*|[-+*/=!<>]\=|\S)'
  let s:rows = []
  for s:lnum in range(1, line('$'))
    let s:line = getline(s:lnum)
    let s:col = 0
    while s:col < strlen(s:line)
      if s:line[s:col] =~# '\s'
        let s:col += 1
        continue
      endif
      let s:text = matchstr(s:line, s:tok, s:col)
      " Split the token where the group changes (escapes in strings, TODO in comments).
      let s:start = 0
      for s:i in range(strlen(s:text) + 1)
        let s:id = s:i < strlen(s:text) ? synID(s:lnum, s:col + s:i + 1, 1) : -1
        if s:i == 0
          let s:cur = s:id
        elseif s:id != s:cur
          let s:name = synIDattr(s:cur, 'name')
          let s:linked = s:Link(s:name)
          call add(s:rows, printf("%d:%d\t%s\t%s\t%s", s:lnum, s:col + s:start + 1,
                \ substitute(s:text[s:start : s:i - 1], '\t', '\\t', 'g'),
                \ empty(s:name) ? '-' : s:name, empty(s:linked) ? '-' : s:linked))
          let s:start = s:i
          let s:cur = s:id
        endif
      endfor
      let s:col += strlen(s:text)
    endwhile
  endfor
  call writefile(s:rows, g:nnx_out)
  qall!
catch
  call writefile(['ERROR: ' . v:exception . ' at ' . v:throwpoint], g:nnx_out)
  cquit!
endtry
