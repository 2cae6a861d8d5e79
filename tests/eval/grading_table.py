"""(gold, prediction, expected) rows for eval.math.grade, one comment each, grown from how models write answers.

``pred`` is a whole model output (or a bare answer); ``expected`` is whether it should be graded correct.
"""

# fmt: off
ROWS = [
    # --- integers, separators, signs
    ("18", "She earns 9 * 2 = 18 dollars. The final answer is \\boxed{18}.", True),  # GSM8K, boxed
    ("025", "The answer is \\boxed{25}", True),  # AIME gold is zero padded
    ("1000", "\\boxed{1,000}", True),  # thousands separator in the box
    ("1000", "\\boxed{1{,}000}", True),  # LaTeX thousands separator
    ("1000", "The answer is 1,000 apples.", True),  # separator and a unit after a phrase
    ("1000000", "\\boxed{1\\,000\\,000}", True),  # thin-space separators
    ("-7", "\\boxed{-7}", True),  # negative integer
    ("-7", "\\boxed{7}", False),  # sign matters
    ("-7", "The final answer is $-7$.", True),  # negative between dollars
    ("0", "\\boxed{0}", True),  # zero
    ("0", "\\boxed{-0}", True),  # negative zero is zero
    ("42", "Thus the final answer is 42.", True),  # phrase, trailing period
    ("42", "\\boxed{42.}", True),  # trailing period inside the box
    ("42", "\\boxed{43}", False),  # off by one
    ("12", "#### 12", True),  # GSM8K marker alone
    ("12", "Natalia sold 48/2 = 24 clips in May.\n#### 12", True),  # GSM8K with working
    ("72", "He has 72 in total.\n#### 72", True),  # GSM8K reference style
    ("1200", "#### 1,200", True),  # GSM8K with a separator
    ("5", "\\boxed 5", True),  # \boxed without braces
    ("5", "so the result is \\boxed 5.", True),  # \boxed without braces, sentence end
    # --- decimals and fractions
    ("\\frac{1}{2}", "\\boxed{0.5}", True),  # decimal for a fraction
    ("0.5", "\\boxed{\\frac{1}{2}}", True),  # fraction for a decimal
    ("\\frac{1}{2}", "\\boxed{1/2}", True),  # slash fraction
    ("\\frac{1}{2}", "\\boxed{\\dfrac{1}{2}}", True),  # dfrac
    ("\\frac{1}{2}", "\\boxed{\\tfrac12}", True),  # tfrac without braces
    ("\\frac{14}{3}", "\\boxed{\\dfrac{14}{3}}", True),  # dfrac vs frac
    ("\\frac{14}{3}", "\\boxed{4\\frac{2}{3}}", True),  # a mixed number, read as 4 + 2/3
    ("\\frac{2}{4}", "\\boxed{\\frac{1}{2}}", True),  # unreduced gold
    ("\\frac{1}{3}", "\\boxed{0.3333}", False),  # a truncated decimal is not a third
    ("\\frac{1}{3}", "\\boxed{0.33}", False),  # a rounded decimal is not a third
    ("3.14", "\\boxed{3.14}", True),  # decimal identical
    ("3.14", "\\boxed{3.140}", True),  # trailing zero
    ("3.14", "\\boxed{3.15}", False),  # another decimal
    ("-\\frac{3}{4}", "\\boxed{-0.75}", True),  # negative fraction as decimal
    ("-\\frac{3}{4}", "\\boxed{\\frac{-3}{4}}", True),  # sign inside the fraction
    ("-\\frac{3}{4}", "\\boxed{\\frac{3}{4}}", False),  # sign lost
    ("1/2^99", "\\boxed{1/2^98}", False),  # math-verify's rounding false positive, guarded
    ("\\frac{1}{2^{99}}", "\\boxed{2^{-99}}", True),  # negative exponent
    ("\\frac{1}{1024}", "\\boxed{\\frac{1}{1000}}", False),  # close decimals are not equal
    ("2.5", "\\boxed{\\frac{5}{2}}", True),  # improper fraction
    # --- radicals, pi, symbolic
    ("\\frac{\\sqrt{3}}{2}", "The answer is $\\frac{\\sqrt{3}}{2}$", True),  # LaTeX only between dollars after a phrase
    ("\\frac{\\sqrt{3}}{2}", "\\boxed{\\frac{\\sqrt3}{2}}", True),  # sqrt without braces
    ("\\frac{\\sqrt{3}}{2}", "\\boxed{\\frac{1}{2}\\sqrt{3}}", True),  # factor order
    ("\\frac{\\sqrt{3}}{2}", "\\boxed{\\frac{\\sqrt{2}}{2}}", False),  # another radical
    ("2\\sqrt{2}", "\\boxed{\\sqrt{8}}", True),  # simplified radical
    ("\\sqrt{2}", "\\boxed{1.41421356}", True),  # a decimal to the checked precision
    ("\\pi", "\\boxed{\\pi}", True),  # pi
    ("2\\pi", "\\boxed{2 \\pi}", True),  # spacing
    ("2\\pi", "\\boxed{\\pi}", False),  # factor lost
    ("\\frac{\\pi}{4}", "\\boxed{\\pi/4}", True),  # slash form with pi
    ("x^2+2x+1", "\\boxed{(x+1)^2}", True),  # symbolic equivalence
    ("x^2+2x+1", "\\boxed{(x-1)^2}", False),  # a different polynomial
    ("3x+2", "\\boxed{2+3x}", True),  # commuted terms
    ("\\log_2 8", "\\boxed{3}", True),  # a log evaluated
    ("e^2", "\\boxed{e^{2}}", True),  # braces on the exponent
    ("10^{10}", "\\boxed{10000000000}", True),  # a power written out
    ("2^{10}", "\\boxed{1024}", True),  # another power written out
    ("\\binom{5}{2}", "\\boxed{10}", True),  # binomial evaluated
    ("5!", "\\boxed{120}", True),  # factorial evaluated
    ("i", "\\boxed{i}", True),  # imaginary unit
    ("1+i", "\\boxed{i+1}", True),  # complex commuted
    ("1+i", "\\boxed{1-i}", False),  # conjugate is not equal
    # --- percentages, units, degrees
    ("50", "The rate is $50\\%$.", True),  # percentage for a plain gold
    ("50\\%", "\\boxed{50}", True),  # plain for a percentage gold
    ("50", "\\boxed{50\\%}", True),  # percentage in the box
    ("25", "\\boxed{25\\%}", True),  # another percentage
    ("0.25", "it is 25%", True),  # a percentage read as a fraction of 1
    ("30", "The angle is $30^\\circ$.", True),  # degrees
    ("30", "\\boxed{30^{\\circ}}", True),  # degrees with braces
    ("30^\\circ", "\\boxed{30}", True),  # degree gold, plain answer
    ("30", "\\boxed{60^\\circ}", False),  # another angle
    ("10", "The final answer is 10 apples.", True),  # units after a phrase answer
    ("10", "\\boxed{10 \\text{ cm}}", True),  # text unit in the box
    ("10", "\\boxed{10\\text{ meters}}", True),  # unit glued
    ("5", "\\boxed{\\$5}", True),  # dollar sign escaped
    ("5", "\\boxed{5 \\text{ dollars}}", True),  # currency word
    ("12", "\\boxed{12\\,\\text{cm}^2}", True),  # squared unit
    # --- intervals
    ("[3,\\infty)", "$x \\geq 3$", True),  # a relation for an interval
    ("[3,\\infty)", "\\boxed{[3, \\infty)}", True),  # interval spacing
    ("[3,\\infty)", "\\boxed{(3, \\infty)}", False),  # open instead of closed
    ("(-\\infty, 2)", "\\boxed{x < 2}", True),  # relation for an open ray
    ("(-\\infty, 2)", "\\boxed{(-\\infty,2]}", False),  # closed end
    ("[0,1]", "\\boxed{[0,1]}", True),  # closed interval
    ("[0,1]", "\\boxed{0 \\le x \\le 1}", True),  # chained relation
    ("(1,5)", "\\boxed{(1,5)}", True),  # open interval identical
    ("(-\\infty,0)\\cup(1,\\infty)", "\\boxed{(-\\infty, 0) \\cup (1, \\infty)}", True),  # union
    ("(-\\infty,0)\\cup(1,\\infty)", "\\boxed{(1, \\infty) \\cup (-\\infty, 0)}", True),  # union reordered
    ("(-\\infty,0)\\cup(1,\\infty)", "\\boxed{(-\\infty, 0)}", False),  # half the union
    # --- sets, tuples, several answers
    ("\\{1,2\\}", "The set is $\\{1, 2\\}$", True),  # a set between dollars
    ("\\{1,2\\}", "\\boxed{\\{2,1\\}}", True),  # set order does not matter
    ("\\{1,2\\}", "\\boxed{\\{1,2,3\\}}", False),  # a superset
    ("1,2", "\\boxed{2, 1}", True),  # several answers in any order
    ("1,2", "\\boxed{1}", False),  # one of two answers
    ("1, -2", "\\boxed{-2, 1}", True),  # roots listed in another order
    ("3, 5", "\\boxed{3 \\text{ and } 5}", True),  # answers joined by "and"
    ("(1,2)", "$(1, 2)$", True),  # a tuple between dollars
    ("(1,2)", "\\boxed{(2,1)}", False),  # a point's order matters
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3, \\frac{\\pi}{2})}", True),  # MATH-500 polar point
    ("(3,4,5)", "\\boxed{(3, 4, 5)}", True),  # a triple
    ("19", "\\boxed{19,19}", False),  # a list is not a single answer (embedded model's output)
    ("2", "\\boxed{2, 3}", False),  # a list never equals a single number
    ("2", "\\boxed{\\{2\\}}", True),  # a singleton set for a number (one solution written as a set)
    # --- matrices and vectors
    ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "$\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}$", True),  # vector
    ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\boxed{\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}}", False),  # entries swapped
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\boxed{\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}}", True),  # 2x2 matrix
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\boxed{\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}}", True),  # bmatrix
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\boxed{\\begin{pmatrix}1 & 3 \\\\ 2 & 4\\end{pmatrix}}", False),  # transposed
    ("\\begin{pmatrix}\\frac{1}{2}\\\\0\\end{pmatrix}", "\\boxed{\\begin{pmatrix} 0.5 \\\\ 0 \\end{pmatrix}}", True),  # decimal entry
    # --- relations and equations
    ("x \\geq 3", "\\boxed{x \\ge 3}", True),  # \ge vs \geq
    ("x \\geq 3", "\\boxed{x > 3}", False),  # strict vs non-strict
    ("y = 2x + 1", "\\boxed{y = 1 + 2x}", True),  # an equation rearranged
    ("y = 2x + 1", "\\boxed{2x + 1}", True),  # right-hand side only
    ("y = 2x + 1", "\\boxed{y = 2x - 1}", False),  # another line
    ("3", "\\boxed{x = 3}", True),  # an assignment for a number
    ("3", "so $x = 3$.", True),  # an assignment between dollars, no phrase
    ("\\frac{1}{2}", "so $x = \\frac{1}{2}$.", True),  # an output ending on its answer between dollars
    ("3", "\\boxed{x = 4}", False),  # a wrong assignment
    ("k = 2", "\\boxed{2}", True),  # gold is an assignment
    # --- text answers
    ("\\text{Monday}", "\\boxed{\\text{Monday}}", True),  # a day
    ("\\text{Monday}", "\\boxed{\\text{Tuesday}}", False),  # another day
    ("\\text{(C)}", "\\boxed{(C)}", True),  # a multiple-choice letter
    ("\\text{(C)}", "\\boxed{C}", True),  # the letter alone
    ("\\text{(C)}", "\\boxed{(B)}", False),  # another letter
    ("\\text{even}", "\\boxed{\\text{even}}", True),  # a word answer
    ("\\text{even}", "\\boxed{\\text{odd}}", False),  # the other word
    # --- multiple boxes, the last commitment
    ("5", "\\boxed{5} ... wait, actually \\boxed{6}", False),  # the last box counts
    ("6", "\\boxed{5} ... wait, actually \\boxed{6}", True),  # the last box counts, right
    ("3", "so x = 2 and \\boxed{2}, then again \\boxed{3}", True),  # the last of several
    ("7", "\\boxed{\\boxed{7}}", True),  # a box in a box
    ("7", "\\boxed{7} and an unclosed \\boxed{8", True),  # a box cut by the token limit is skipped
    ("7", "\\fbox{7}", True),  # fbox counts as a box
    ("12", "First \\boxed{10}. The final answer is 12.", False),  # a box wins over a later phrase
    # --- Minerva and phrasings
    ("5", "Final Answer: The final answer is $5$. I hope it is correct.", True),  # Minerva format
    ("\\frac{3}{4}", "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", True),  # Minerva fraction
    ("\\frac{3}{4}", "The final answer is $\\frac{3}{4}$. Done.", True),  # phrase with math delimiters
    ("17", "Work...\nAnswer: 17\n", True),  # answer line
    ("17", "Work...\n**Answer:** 17", True),  # markdown answer line
    ("17", "Work...\nAnswer: $17$", True),  # answer line with dollars
    ("9", "So the answer is 9 because 3 squared is 9.", True),  # phrase then a reason
    ("9", "The final answer is: 9", True),  # colon after the phrase
    ("9", "the final answer is **9**.", True),  # markdown bold
    ("9", "The answer is \\(9\\).", True),  # inline math parentheses
    ("9", "The answer is \\[9\\]", True),  # display math
    ("9", "The answer is $$9$$", True),  # double dollars
    ("4", "The final answer is 4, since 2+2=4.", True),  # phrase then a comma
    # --- answers only between dollars, no phrase (math-verify's own extraction)
    ("12", "Adding the two parts we get $12$.", True),  # last math at the end
    ("\\frac{5}{6}", "Therefore the probability is $\\frac{5}{6}$.", True),  # fraction at the end
    ("8", "We find $2^3 = 8$.", True),  # an equation's right side
    ("12", "so it is 12", True),  # a plain number at the end
    # --- LaTeX noise
    ("\\frac{1}{2}", "\\boxed{\\left(\\frac{1}{2}\\right)}", True),  # \left \right
    ("10", "\\boxed{1\\!0}", True),  # negative thin space
    ("10", "\\boxed{\\mathbf{10}}", True),  # bold
    ("10", "\\boxed{\\text{10}}", True),  # number in text
    ("10", "\\boxed{\\displaystyle 10}", True),  # displaystyle
    ("\\frac{1}{2}", "\\boxed{ \\frac { 1 } { 2 } }", True),  # spaces everywhere
    ("4", "\\boxed{\\mathrm{4}}", True),  # mathrm
    # --- golds as references write them
    ("\\boxed{5}", "\\boxed{5}", True),  # a gold with its box
    ("$5$", "\\boxed{5}", True),  # a gold between dollars
    ("Half of 10 is \\boxed{5}.", "\\boxed{5}", True),  # a whole solution as gold: its last box
    ("Half of 10 is \\boxed{5}.", "\\boxed{6}", False),  # whole-solution gold, wrong answer
    # --- nothing stated, or nonsense
    ("7", "no answer here", False),  # nothing extracted is wrong
    ("7", "I am not sure.", False),  # commits to nothing
    ("7", "\\boxed{}", False),  # empty box
    ("7", "", False),  # empty output
    ("7", "\\boxed{seven}", True),  # number words are read as the number they name
    # --- bare answers (pred is just the answer)
    ("\\frac{1}{2}", "0.5", True),  # bare decimal
    ("\\frac{1}{2}", "\\frac12", True),  # bare LaTeX
    ("[3,\\infty)", "x \\geq 3", True),  # bare relation
    ("(1,2)", "(1, 2)", True),  # bare tuple
    ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}", True),  # bare radical
    ("3", "4", False),  # bare wrong
    # --- reasoning models: the answer follows the thinking; a thought cut by the budget states none
    ("24", "<think>Maybe \\boxed{20}? No, recount.</think>\n**Answer: 24**", True),  # R1: box in the thought loses
    ("20", "<think>Maybe \\boxed{20}? No, recount.</think>\n**Answer: 24**", False),  # ... to the answer after it
    ("1024", "<think>So 2^10 = 1024? Wait, but the question asks", False),  # unclosed: no answer, not 1024
    ("7", "Step by step...\n</think>\n\nThe answer is \\boxed{7}.", True),  # R1 served raw: no opening tag
    ("7", "<|begin_of_thought|>3 + 4 = 7<|end_of_thought|>\n\\boxed{7}", True),  # Sky-T1 / OpenThoughts markers
    ("9", "<thinking>try 8</thinking>The final answer is $9$.", True),  # another delimiter
    # --- an escaped dollar is a currency sign, not the end of the math
    ("32", "Final Answer: The final answer is $\\$32$. I hope it is correct.", True),  # Minerva format, money
    ("18.90", "The answer is $\\$18.90$.", True),  # dollars and cents
    ("1.25", "**Final answer:** $\\$1.25$", True),  # bold label
    ("45", "Answer: $\\$45$", True),  # answer line
    # --- percentages with decimals, as the whole-number ones already were
    ("7.5", "\\boxed{7.5\\%}", True),  # a percent answer for a plain gold
    ("12.5\\%", "The answer is \\boxed{12.5}.", True),  # a plain answer for a percent gold
    ("7.5", "The answer is 7.5%.", True),  # plain percent sign after a phrase
    ("7.5", "\\boxed{7.6\\%}", False),  # a different percentage stays wrong
    ("7.5", "\\boxed{0.075}", False),  # the fraction is not the percentage of a plain gold
    # --- R1 / QwQ style long thoughts: only what follows the thinking is graded
    ("5", "<think>\nLet me think. 2 + 3 = 5. Hmm, is that right? Yes.\n</think>\n\nThe sum is $\\boxed{5}$.", True),  # R1 final box
    ("6", "<think>\nFirst try \\boxed{6}... wait, no: 2 * 3 = 6 indeed.\n</think>\nSo the product is **6**.\n\nAnswer: 6", True),  # box in thought agrees
    ("8", "<think>\n\\boxed{6} seems right.\n</think>\n\nActually, re-checking gives \\boxed{8}.", True),  # after-thought box wins
    ("6", "<think>\n\\boxed{6} seems right.\n</think>\n\nActually, re-checking gives \\boxed{8}.", False),  # the thought's box loses
    ("12", "<think>okay so 3 * 4</think>**Final Answer**\n\\[\n\\boxed{12}\n\\]", True),  # QwQ display box
    ("\\frac{3}{4}", "<think>ratio 3:4</think>\n\nThe probability is $\\boxed{\\dfrac{3}{4}}$.", True),  # R1 dfrac
    ("210", "<think>\nC(10,4) = 210.\n</think>\nThere are $\\boxed{210}$ ways.", True),  # counting
    ("-2", "<think>x + 2 = 0</think>\nHence $x = \\boxed{-2}$.", True),  # negative after the thought
    ("4", "<think>Let me recount: 1, 2, 3, 4.</think>\nThe final answer is 4.", True),  # phrase after the thought
    ("4", "<think>Let me recount: 1, 2, 3, 4.</think>\n", False),  # nothing after the thought: no answer
    ("17", "</think>\n\n**Answer:** 17", True),  # served raw: the opening tag in the prompt
    ("9", "◁think▷3 * 3◁/think▷The answer is \\boxed{9}.", True),  # Kimi's delimiters
    ("9", "<reasoning>3 squared</reasoning>\\boxed{9}", True),  # <reasoning> delimiter
    ("2\\sqrt{2}", "<think>sqrt 8</think>\nSo $\\sqrt{8} = \\boxed{2\\sqrt{2}}$.", True),  # radical after the thought
    ("\\pi", "<think>area of unit circle</think> The area is $\\boxed{\\pi}$.", True),  # a constant
    ("100", "<think>\n10^2 = 100\n</think>\n\n# Final answer\n\n\\boxed{100}", True),  # markdown heading
    # --- truncated thinking: a thought the budget cut states no answer, whatever it contains
    ("25", "<think>\nSo 5^2 = 25, therefore the answer is \\boxed{25}. But wait, let me double", False),  # box inside a cut thought
    ("25", "<think>\nThe answer is 25. Hmm, but", False),  # phrase inside a cut thought
    ("3", "<think>Answer: 3\nWait, maybe", False),  # answer line inside a cut thought
    ("0", "<think>", False),  # an empty open thought
    ("7", "<thinking>7 or 8? Let me compute 7 +", False),  # another delimiter, cut
    ("42", "<|begin_of_thought|>\nThe total is 42, so", False),  # Sky-T1 marker, cut
    ("11", "<think>first</think> then <think>the answer is 11", True),  # the last closed thought ends; what follows is graded
    # --- echoed instructions and uncommitted phrases: the answer the text commits to
    ("9", "The answer is not 7: the pairs overlap. Counting them again, we obtain $9$.", True),  # negated phrase
    ("7", "The answer is not 7: the pairs overlap. Counting them again, we obtain $9$.", False),  # ... is not 7
    ("33", "Recall that the answer is an integer between 0 and 999 inclusive. We find $m + n = 33$.", True),  # AIME echo
    ("0", "Recall that the answer is an integer between 0 and 999 inclusive. We find $m + n = 33$.", False),  # ... not 0
    ("17", "The answer is 15, but let us check: 3 * 5 + 2 = 17. So the final answer is 17.", True),  # tentative, then final
    ("15", "The answer is 15, but let us check: 3 * 5 + 2 = 17. So the final answer is 17.", False),  # the tentative loses
    ("17", "I guess the answer is 15? No: 3 * 5 + 2 = 17, so we get $17$.", True),  # a question is no commitment
    ("8", "If the answer were 6, the sum would be odd. It is even, so the answer is 8.", True),  # hypothetical passed over
    ("6", "If the answer is 6, the sum is odd. It is even, so we get $8$.", False),  # a hypothetical is no answer
    ("8", "If the answer is 6, the sum is odd. It is even, so we get $8$.", True),  # ... the math at the end is
    ("5", "The answer is expected as a fraction in lowest terms. Here it is $\\frac{10}{2} = 5$.", True),  # format echo
    ("12", "We need the answer to be a positive integer. The answer is 12.", True),  # "to be" is no answer
    ("120", "The answer is the number of arrangements, which is $5! = 120$.", True),  # descriptive phrase, math after
    ("4", "Suppose the answer is 3; then 3^2 = 9 > 8. So the answer is 4.", True),  # supposition, then commitment
    ("3", "The final answer is 3. I hope it is correct.", True),  # Minerva's closing sentence
    # --- several answers: every box of the final answer section, compared as a set or a tuple
    ("2, 3", "The roots are $\\boxed{2}$ and $\\boxed{3}$.", True),  # two boxes for two roots
    ("2, 3", "The roots are $\\boxed{3}$ and $\\boxed{2}$.", True),  # any order for a list
    ("2, 3", "The roots are $\\boxed{2}$ and $\\boxed{4}$.", False),  # one root wrong
    ("2, 3", "So \\boxed{3}.", False),  # one root of two
    ("(1,2),(3,4)", "The pairs are \\boxed{(1,2)} and \\boxed{(3,4)}.", True),  # boxed pairs
    ("(1,2),(3,4),(5,6),(7,8)", "\\boxed{(1,2)}, \\boxed{(3,4)}, \\boxed{(5,6)}, \\boxed{(7,8)}", True),  # four boxed pairs
    ("(1,2),(3,4),(5,6),(7,8)", "\\boxed{(1,2)}, \\boxed{(3,4)}, \\boxed{(5,6)}", False),  # a pair missing
    ("45, 2", "Thus $\\boxed{k = 45}$ and $\\boxed{n = 2}$.", True),  # named boxes
    ("(2, -1)", "\\boxed{x=2, y=-1}", True),  # named components for a tuple
    ("(2, -1)", "\\boxed{x=-1, y=2}", False),  # a tuple's order matters
    ("(2,-1)", "We get \\boxed{x = 2}, \\boxed{y = -1}.", True),  # named boxes for a tuple
    ("3, -3", "So $x = 3$ or $x = -3$. The answer is $x = 3$ or $x = -3$.", True),  # "or" between solutions
    ("-3, 3", "\\boxed{x = \\pm 3}", True),  # plus or minus
    ("1, 2, 3", "\\boxed{1, 2, 3}", True),  # a list in one box
    ("1, 2, 3", "\\boxed{1, 2}", False),  # a list missing one
    ("\\{1, 2\\}", "\\boxed{\\{2, 1\\}}", True),  # a set in set braces
    ("0, 1", "The solutions are \\boxed{0} and, after checking the second case at length, which takes a while to write out in full because every term has to be expanded and then compared with the others one by one, and this paragraph goes on for quite some time before it reaches the other solution, so the last box is \\boxed{1}.", False),  # boxes far apart: only the last run counts
    ("5", "Candidates \\boxed{3} and \\boxed{5}; only 5 works, so \\boxed{5}.", True),  # a single gold takes the last box
    # --- money
    ("4.50", "She pays $\\$4.50$ in total, so the answer is $\\$4.50$.", True),  # dollars and cents
    ("4.5", "The answer is \\boxed{\\$4.50}.", True),  # trailing zero in the cents
    ("1250", "He earns \\$1,250 a month.\n#### 1250", True),  # GSM8K with money in the working
    ("1250", "The final answer is $\\$1{,}250$.", True),  # LaTeX separator and dollar
    ("20", "Answer: \\$20.00", True),  # an answer line with cents
    ("20", "Answer: \\$21.00", False),  # wrong amount
    ("0.75", "It costs 75 cents, i.e. \\boxed{\\$0.75}.", True),  # cents as dollars
    ("12", "**Final Answer:** $\\$12$ per hour", True),  # unit after the money
    # --- percent
    ("25", "The increase is \\boxed{25\\%}.", True),  # percent for a plain gold
    ("25\\%", "\\boxed{25}", True),  # plain for a percent gold
    ("0.25", "\\boxed{25\\%}", True),  # 25% is 0.25
    ("33.3", "The answer is 33.3%.", True),  # decimal percent after a phrase
    ("150", "Answer: 150%", True),  # over a hundred percent
    ("2.5", "\\boxed{2.5 \\%}", True),  # a space before the percent sign
    ("2.5", "\\boxed{2.6\\%}", False),  # a different percentage
    ("40", "That is a 40 percent discount. The answer is 40.", True),  # the word percent in the working
    # --- number words
    ("12", "The answer is twelve.", True),  # a word after a phrase
    ("12", "twelve", True),  # a bare word
    ("0", "The answer is zero.", True),  # zero
    ("100", "\\boxed{one hundred}", True),  # two words in a box
    ("105", "The answer is one hundred and five.", True),  # "and" inside
    ("21000", "The answer is twenty-one thousand.", True),  # hyphen and scale
    ("13", "The answer is twelve.", False),  # a word for the wrong number
    ("7", "The answer is seven apples.", True),  # a word with a unit: math-verify's reading of the phrase
    # --- option letters, with or without their values
    ("D", "The answer is (D) 12.", True),  # letter then value, letter gold
    ("12", "The answer is (D) 12.", True),  # letter then value, value gold
    ("D", "The answer is (C) 10.", False),  # the wrong letter
    ("C", "\\boxed{C}", True),  # a boxed letter
    ("C", "\\boxed{(C)}", True),  # a boxed letter in parentheses
    ("\\text{(B)}", "The correct option is B. The answer is B.", True),  # MATH's \\text{(B)} gold
    ("B", "Answer: (B)", True),  # an answer line with a letter
    ("A", "Answer: (B)", False),  # an answer line with another letter
    # --- repeating decimals
    ("\\frac{1}{3}", "\\boxed{0.\\overline{3}}", True),  # overline
    ("\\frac{1}{6}", "\\boxed{0.1\\overline{6}}", True),  # a fixed digit before the cycle
    ("\\frac{1}{7}", "\\boxed{0.\\overline{142857}}", True),  # a six-digit cycle
    ("\\frac{1}{3}", "\\boxed{0.(3)}", True),  # parentheses notation
    ("0.\\overline{3}", "\\boxed{\\frac{1}{3}}", True),  # a repeating decimal gold
    ("\\frac{1}{3}", "\\boxed{0.\\overline{33}}", True),  # a longer cycle of the same digits
    ("\\frac{2}{3}", "\\boxed{0.\\overline{3}}", False),  # another fraction
    ("\\frac{41}{333}", "The answer is $0.\\overline{123}$.", True),  # after a phrase, delimited
    # --- delimited math read as LaTeX
    ("\\frac{1}{2}", "The answer is \\(\\frac{1}{2}\\).", True),  # \\( \\) delimiters
    ("\\frac{1}{2}", "The answer is \\[\\frac{1}{2}\\]", True),  # \\[ \\] delimiters
    ("\\{1,2\\}", "The answer is $\\{1, 2\\}$.", True),  # nested braces inside dollars
    ("10", "The answer is $\\text{10 cm}$.", True),  # text inside the math
    ("3", "So the final answer is $\\boxed{3}$ and we are done.", True),  # box inside dollars
]
# fmt: on
