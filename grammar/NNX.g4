// NNX.g4 — the grammar of the .nnx language.
//
// The whole surface of the language: imports, variable-kind declarations, modules with typed
// hyper-parameters, variable declarations, methods (block and `= expr` forms), top-level
// functions, `test` blocks, the transforms `scan`, `vmap`, `grad`, `value_and_grad`, static
// `for` loops and list comprehensions, tuples, keyword arguments and tensor types with
// dimension variables and `...`.
//
// Statements end at a newline or `;`. Newlines inside (), [] are not significant: the lexer
// drops them while any bracket is open, so long argument lists may span lines. A binary
// operator at the end of a line also continues the expression on the next one.
//
// The parser is generated at build time (never committed); only lang/syntax sees its types.
// Editor plugins derive their keyword list from the KEYWORDS section below (see
// editors/README.md and tests/editors): keep every keyword literal there.

grammar NNX;

@lexer::members {
  /// Depth of open ( and [ brackets; newlines inside them are skipped.
  int nesting = 0;
}

// ---------------------------------------------------------------------------------------------
// Files and declarations
// ---------------------------------------------------------------------------------------------

file : sep* (topItem (sep+ topItem)* sep*)? EOF ;

sep : NL | SEMI ;

// One expression alone: the `--model 'Model(784, 256, 10)'` argument of the CLI.
singleExpr : NL* expr NL* EOF ;

topItem
  : importDecl
  | kindDecl
  | moduleDecl
  | fnDecl
  | testDecl
  ;

importDecl : IMPORT STRING ;

kindDecl : VARIABLE IDENT ;

moduleDecl : MODULE IDENT LPAREN paramList? RPAREN block ;

fnDecl : FN IDENT LPAREN paramList? RPAREN (ARROW typeExpr)? (block | ASSIGN NL* expr) ;

testDecl : TEST STRING block ;

paramList : param (COMMA param)* COMMA? ;

// `*layers` collects the remaining positional arguments into a list (Sequential(*fns)).
param : (variadic=STAR)? IDENT (COLON typeExpr)? (ASSIGN expr)? ;

// `int`, `Model`, `f32`, `f32[]`, `f32[B, 784]`, `f32[..., in_features]`
typeExpr : IDENT (LBRACK (dim (COMMA dim)*)? RBRACK)? ;

dim : ELLIPSIS | expr ;

// ---------------------------------------------------------------------------------------------
// Statements (module bodies and function bodies share them; sema says which fit where)
// ---------------------------------------------------------------------------------------------

block : LBRACE sep* (stmt (sep+ stmt)* sep*)? RBRACE ;

stmt
  : fnDecl                                              # fnStmt
  | kind=IDENT name=IDENT COLON typeExpr (ASSIGN expr)? # varDeclStmt
  | RETURN exprList?                                    # returnStmt
  | ASSERT cond=expr (COMMA msg=expr)?                 # assertStmt
  | ifStmt                                              # ifStatement
  | FOR targets=loopTargets IN expr block               # forStmt
  | exprList ASSIGN exprList                            # assignStmt
  | expr op=(PLUS_ASSIGN | MINUS_ASSIGN | STAR_ASSIGN | SLASH_ASSIGN) expr # augAssignStmt
  | expr                                                # exprStmt
  ;

ifStmt : IF expr block (NL* ELSE (ifStmt | block))? ;

exprList : expr (COMMA expr)* ;

// `for i, (layer, scale) in ...`: names, nested in parentheses as deep as the elements are.
loopTargets : loopTarget (COMMA loopTarget)* ;

loopTarget : IDENT | LPAREN loopTarget (COMMA loopTarget)+ COMMA? RPAREN ;

// ---------------------------------------------------------------------------------------------
// Expressions, highest precedence first
// ---------------------------------------------------------------------------------------------

expr
  : postfix                                                        # postfixExpr
  | <assoc=right> lhs=expr op=POW NL* rhs=expr                     # binaryExpr
  | op=(MINUS | PLUS) expr                                         # unaryExpr
  | lhs=expr op=(STAR | SLASH | FLOOR_DIV | PERCENT | AT) NL* rhs=expr # binaryExpr
  | lhs=expr op=(PLUS | MINUS) NL* rhs=expr                        # binaryExpr
  | lhs=expr op=(EQ | NE | LT | LE | GT | GE) NL* rhs=expr         # binaryExpr
  | op=NOT expr                                                    # unaryExpr
  | lhs=expr op=AND NL* rhs=expr                                   # binaryExpr
  | lhs=expr op=OR NL* rhs=expr                                    # binaryExpr
  ;

postfix
  : primary                                    # primaryPostfix
  | postfix LPAREN argList? RPAREN             # callPostfix
  | postfix LBRACK subscript (COMMA subscript)* COMMA? RBRACK # indexPostfix
  | postfix DOT IDENT                          # memberPostfix
  ;

primary
  : NUMBER                                                  # numberLit
  | STRING                                                  # stringLit
  | (TRUE | FALSE)                                          # boolLit
  | ELLIPSIS                                                # ellipsisLit
  | IDENT                                                   # nameRef
  // `(x)` groups and `(x,)`, `(a, b)`, `()` are tuples: one alternative, told apart by the
  // commas in AstBuilder, so that prediction never scans ahead to the closing parenthesis
  // (two alternatives made nested parentheses parse in quadratic time).
  | LPAREN (expr (COMMA expr)* trailing=COMMA?)? RPAREN    # parenExpr
  | LBRACK elem=expr FOR targets=loopTargets IN iter=expr (IF cond=expr)? RBRACK # listCompExpr
  | LBRACK (expr (COMMA expr)* COMMA?)? RBRACK              # listExpr
  // `vmap(f, in_axes=...)(xs)` is the transform applied by a call; `vmap(5) Block(64, 64)`
  // creates stacked modules. The transform is listed first so that it wins where both parse.
  | op=(SCAN | VMAP | GRAD | VALUE_AND_GRAD) LPAREN argList RPAREN # transformExpr
  | VMAP LPAREN argList RPAREN postfix                      # vmapExpr
  ;

argList : arg (COMMA arg)* COMMA? ;

arg : (IDENT ASSIGN)? expr ;

// x[i], x[a:b], x[a:b:c], x[:, 0], x[..., 1:]
subscript
  : ELLIPSIS
  | lo=expr? COLON hi=expr? (COLON step=expr?)?
  | expr
  ;

// ---------------------------------------------------------------------------------------------
// KEYWORDS (the editor plugins are checked against this list)
// ---------------------------------------------------------------------------------------------

IMPORT         : 'import' ;
VARIABLE       : 'variable' ;
MODULE         : 'module' ;
FN             : 'fn' ;
TEST           : 'test' ;
RETURN         : 'return' ;
ASSERT         : 'assert' ;
IF             : 'if' ;
ELSE           : 'else' ;
FOR            : 'for' ;
IN             : 'in' ;
AND            : 'and' ;
OR             : 'or' ;
NOT            : 'not' ;
TRUE           : 'true' ;
FALSE          : 'false' ;
VMAP           : 'vmap' ;
SCAN           : 'scan' ;
GRAD           : 'grad' ;
VALUE_AND_GRAD : 'value_and_grad' ;

// ---------------------------------------------------------------------------------------------
// Punctuation and operators
// ---------------------------------------------------------------------------------------------

LPAREN       : '(' { ++nesting; } ;
RPAREN       : ')' { if (nesting > 0) --nesting; } ;
LBRACK       : '[' { ++nesting; } ;
RBRACK       : ']' { if (nesting > 0) --nesting; } ;
LBRACE       : '{' { nesting = 0; } ;
RBRACE       : '}' { nesting = 0; } ;
ELLIPSIS     : '...' ;
ARROW        : '->' ;
PLUS_ASSIGN  : '+=' ;
MINUS_ASSIGN : '-=' ;
STAR_ASSIGN  : '*=' ;
SLASH_ASSIGN : '/=' ;
POW          : '**' ;
FLOOR_DIV    : '//' ;
EQ           : '==' ;
NE           : '!=' ;
LE           : '<=' ;
GE           : '>=' ;
LT           : '<' ;
GT           : '>' ;
ASSIGN       : '=' ;
PLUS         : '+' ;
MINUS        : '-' ;
STAR         : '*' ;
SLASH        : '/' ;
PERCENT      : '%' ;
AT           : '@' ;
DOT          : '.' ;
COMMA        : ',' ;
COLON        : ':' ;
SEMI         : ';' ;

// ---------------------------------------------------------------------------------------------
// Literals, names, layout
// ---------------------------------------------------------------------------------------------

NUMBER
  : DIGIT+ ('.' DIGIT*)? EXPONENT?
  | '.' DIGIT+ EXPONENT?
  ;

fragment DIGIT    : [0-9] ;
fragment EXPONENT : [eE] [+-]? DIGIT+ ;

STRING : '"' (ESCAPE | ~["\\\r\n])* '"' ;

fragment ESCAPE : '\\' ["\\nrt0] ;

IDENT : [a-zA-Z_] [a-zA-Z_0-9]* ;

NL : ('\r'? '\n' | '\r') { if (nesting > 0) skip(); } ;

// Comments are kept on the hidden channel: the parser never sees them, the formatter
// (lang/syntax/Formatter.cpp) does.
COMMENT : '#' ~[\r\n]* -> channel(HIDDEN) ;

WS : [ \t\f]+ -> skip ;

// Anything else is one bad character; the parser reports it with its position.
BAD_CHAR : . ;
