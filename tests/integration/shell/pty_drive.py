#!/usr/bin/env python3
# Drives an interactive program through a pseudo-terminal and checks what the screen shows.
# Usage: pty_drive.py SCRIPT -- PROGRAM ARGS...
# SCRIPT holds one step per line:  send TEXT  (\t, \r, \x04 escapes)  |  expect TEXT [SECONDS]
#                                  |  exit CODE [SECONDS]  (the program ends with CODE)
#                                  |  pause SECONDS  (reads the screen meanwhile)
# The screen is the program's output with terminal escapes removed. Every wait has a
# deadline; on failure the screen so far is printed, the program killed, and the exit is 1.
import os, pty, re, select, signal, sys, time

def main():
    sep = sys.argv.index('--')
    steps = open(sys.argv[1]).read().splitlines()
    prog = sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ['TERM'] = 'dumb'
        os.execv(prog[0], prog)
    screen = ''
    seen = 0  # what `expect` has matched up to: each expectation looks after the last one
    status = None

    def pump(seconds):
        nonlocal screen
        r, _, _ = select.select([fd], [], [], seconds)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            screen += re.sub(r'\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r', '', data.decode('utf-8', 'replace'))
        return True

    def fail(why):
        print('FAIL: ' + why)
        print('--- screen:\n' + screen[-3000:])
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
        sys.exit(1)

    for step in steps:
        if not step.strip() or step.startswith('#'):
            continue
        verb, _, arg = step.partition(' ')
        if verb == 'send':
            os.write(fd, arg.encode().decode('unicode_escape').encode())
        elif verb == 'expect':
            m = re.match(r'(.*?)(?:\s+(\d+))?$', arg)
            text, secs = m.group(1), int(m.group(2) or 10)
            deadline = time.time() + secs
            while text not in screen[seen:]:
                left = deadline - time.time()
                if left <= 0:
                    fail("'%s' not shown within %d s" % (text, secs))
                if not pump(min(left, 0.2)) and text not in screen[seen:]:
                    fail("'%s' not shown: the program ended" % text)
            seen = screen.index(text, seen) + len(text)
            print('ok: screen shows ' + repr(text))
        elif verb == 'pause':
            until = time.time() + float(arg)
            while time.time() < until:
                pump(min(0.1, max(0.0, until - time.time())))
        elif verb == 'exit':
            code, _, secs = arg.partition(' ')
            deadline = time.time() + int(secs or 20)
            while status is None and time.time() < deadline:
                pump(0.1)
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(st)
            if status is None:
                fail('the program did not exit within %s s' % (secs or 20))
            if status != int(code):
                fail('exit code %d, expected %s' % (status, code))
            print('ok: exit code %d' % status)
        else:
            fail('bad step: ' + step)
    if status is None:
        fail('the script ended without an exit step')

main()
