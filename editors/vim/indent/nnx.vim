" Vim indent file for nnx (.nnx): one 'shiftwidth' per open { ( [, closers back out.
if exists('b:did_indent')
  finish
endif
let b:did_indent = 1

setlocal indentexpr=GetNnxIndent(v:lnum)
setlocal indentkeys=0},0),0],!^F,o,O,e
setlocal autoindent nosmartindent nocindent
let b:undo_indent = 'setlocal indentexpr< indentkeys< autoindent< smartindent< cindent<'

if exists('*GetNnxIndent')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

" Line lnum with its comment cut off and its strings' contents replaced by 'x' (same columns),
" so that brackets inside them do not count.
function! s:Code(lnum) abort
  let line = substitute(getline(a:lnum), '"\%([^"\\]\|\\.\)*"\=',
        \ '\=repeat("x", strlen(submatch(0)))', 'g')
  return substitute(line, '#.*$', '', '')
endfunction

function! s:InStringOrComment() abort
  return synIDattr(synID(line('.'), col('.'), 0), 'name') =~# 'nnx\%(String\|Comment\|Escape\)'
endfunction

function! GetNnxIndent(lnum) abort
  let prev = prevnonblank(a:lnum - 1)
  if prev == 0
    return 0
  endif
  let code = s:Code(prev)
  " Brackets of the previous line: `open` left unclosed at its end, `closer` the column of the
  " last bracket that closes one opened on an earlier line.
  let open = 0
  let closer = -1
  for i in range(strlen(code))
    let c = code[i]
    if c =~# '[({[]'
      let open += 1
    elseif c =~# '[)}\]]'
      if open > 0
        let open -= 1
      else
        let closer = i
      endif
    endif
  endfor
  let base = indent(prev)
  if closer >= 0
    " Line up with the line that opened what the previous line closed.
    let view = winsaveview()
    call cursor(prev, closer + 1)
    let [l, c] = searchpairpos('[({[]', '', '[)}\]]', 'bW', 's:InStringOrComment()')
    call winrestview(view)
    if l > 0
      let base = indent(l)
    endif
  endif
  if open > 0
    let base += shiftwidth()
  endif
  if s:Code(a:lnum) =~# '^\s*[)}\]]'
    let base -= shiftwidth()
  endif
  return max([base, 0])
endfunction

let &cpo = s:cpo_save
unlet s:cpo_save
