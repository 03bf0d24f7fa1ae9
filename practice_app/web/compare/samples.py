"""Code on /compare that is not this app's: Next.js's, and Flask-Caching used alone.

Written the way each project's documentation shows it, for the version each
block names; it is not copied from a running app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """Code written as its project's documentation shows it, for the version it names."""

    version: str  # "Next.js 14", "Flask-Caching 2"
    path: str  # the file it would be in
    code: str
    docs: str  # the documentation it follows
    docs_title: str

    @property
    def label(self) -> str:
        return f"{self.version}: {self.path}"


NEXT_14 = "https://nextjs.org/docs/14/app"
NEXT_16 = "https://nextjs.org/docs/app"

SAMPLES: dict[str, Sample] = {
    "route": Sample(
        "Next.js 14",
        "app/api/problems/route.ts",
        """\
import { NextResponse } from 'next/server'
import { db } from '@/lib/db'

// Reads nothing of the request, yet Next.js 14 renders this GET
// on every request: the file also exports POST.
export async function GET() {
  const problems = await db.problem.findMany()
  return NextResponse.json(problems)
}

export async function POST(request: Request) {
  const data = await request.json()
  const problem = await db.problem.create({ data })
  return NextResponse.json(problem, { status: 201 })
}""",
        f"{NEXT_14}/building-your-application/routing/route-handlers",
        "Route Handlers, Next.js 14",
    ),
    "action": Sample(
        "Next.js 14",
        "app/problems/new/actions.ts",
        """\
'use server'

import { revalidatePath } from 'next/cache'
import { redirect } from 'next/navigation'
import { db } from '@/lib/db'

export async function createProblem(formData: FormData) {
  const name = String(formData.get('name') ?? '')
  const difficulty = String(formData.get('difficulty') ?? 'medium')
  const problem = await db.problem.create({ data: { name, difficulty } })
  revalidatePath('/api/problems')
  redirect(`/problems/${problem.id}`)
}""",
        f"{NEXT_14}/building-your-application/data-fetching/server-actions-and-mutations",
        "Server Actions and Mutations, Next.js 14",
    ),
    "submit": Sample(
        "Next.js 14",
        "app/problems/new/submit-button.tsx",
        """\
'use client'

import { useFormStatus } from 'react-dom'

// rendered inside <form action={createProblem}> in page.tsx
export function SubmitButton() {
  const { pending } = useFormStatus()
  return (
    <button type="submit" disabled={pending}>
      {pending ? 'Saving…' : 'Create problem'}
    </button>
  )
}""",
        "https://react.dev/reference/react-dom/hooks/useFormStatus",
        "useFormStatus, React",
    ),
    "state_action": Sample(
        "Next.js 14",
        "app/problems/new/actions.ts (returning errors)",
        """\
'use server'

import { redirect } from 'next/navigation'
import { db } from '@/lib/db'

type State = { errors: { name?: string[]; difficulty?: string[] } }

export async function createProblem(
  prevState: State,
  formData: FormData,
): Promise<State> {
  const name = String(formData.get('name') ?? '').trim()
  const difficulty = String(formData.get('difficulty') ?? 'medium')
  const errors: State['errors'] = {}
  if (!name) errors.name = ['Give the problem a name.']
  if (!['easy', 'medium', 'hard'].includes(difficulty)) {
    errors.difficulty = ['Choose easy, medium or hard.']
  }
  if (errors.name || errors.difficulty) return { errors }
  const problem = await db.problem.create({ data: { name, difficulty } })
  redirect(`/problems/${problem.id}`)
}""",
        f"{NEXT_14}/building-your-application/data-fetching/server-actions-and-mutations",
        "Server Actions and Mutations, Next.js 14",
    ),
    "state_form": Sample(
        "Next.js 14",
        "app/problems/new/form.tsx",
        """\
'use client'

import { useFormState } from 'react-dom'
import { createProblem } from './actions'
import { SubmitButton } from './submit-button'

const initialState: Parameters<typeof createProblem>[0] = { errors: {} }

export function ProblemForm() {
  const [state, formAction] = useFormState(createProblem, initialState)
  return (
    <form action={formAction}>
      <label htmlFor="name">Name</label>
      <input id="name" name="name" aria-describedby="name-error" />
      <p id="name-error">{state.errors.name?.join(' ')}</p>
      <SubmitButton />
    </form>
  )
}""",
        f"{NEXT_14}/building-your-application/data-fetching/server-actions-and-mutations",
        "Server Actions and Mutations, Next.js 14",
    ),
    "dynamic": Sample(
        "Next.js 14",
        "app/api/clock/dynamic/route.ts",
        """\
import { NextResponse } from 'next/server'

export const dynamic = 'force-dynamic'

export async function GET() {
  return NextResponse.json({ now: new Date().toISOString() })
}""",
        f"{NEXT_14}/api-reference/file-conventions/route-segment-config",
        "Route Segment Config, Next.js 14",
    ),
    "revalidate": Sample(
        "Next.js 14",
        "app/api/clock/revalidate/route.ts",
        """\
import { NextResponse } from 'next/server'

export const revalidate = 300

export async function GET() {
  return NextResponse.json({ now: new Date().toISOString() })
}""",
        f"{NEXT_14}/api-reference/file-conventions/route-segment-config",
        "Route Segment Config, Next.js 14",
    ),
    "error": Sample(
        "Next.js 14",
        "app/api/stats/route.ts",
        """\
import { NextResponse } from 'next/server'
import { db } from '@/lib/db'

// Static; an error if it uses dynamic functions (headers(),
// cookies(), request.url) or uncached data
export const dynamic = 'error'

export async function GET() {
  return NextResponse.json({ problems: await db.problem.count() })
}""",
        f"{NEXT_14}/api-reference/file-conventions/route-segment-config",
        "Route Segment Config, Next.js 14",
    ),
    "tags_14": Sample(
        "Next.js 14",
        "app/lib/problems.ts",
        """\
import { revalidateTag } from 'next/cache'

export async function getProblems() {
  const res = await fetch('https://api.example.com/problems', {
    next: { tags: ['problems'] },
  })
  return res.json()
}

// called from a Server Action or a route handler, after a write
export function problemsChanged() {
  revalidateTag('problems')
}""",
        f"{NEXT_14}/api-reference/functions/revalidateTag",
        "revalidateTag, Next.js 14",
    ),
    "tags_16": Sample(
        "Next.js 16",
        "app/lib/problems.ts (cacheComponents: true)",
        """\
import { cacheTag, updateTag } from 'next/cache'
import { db } from '@/lib/db'

export async function getProblems() {
  'use cache'
  cacheTag('problems')
  return db.problem.findMany()
}

// called from a Server Action after a write: expired at once, so
// the writer reads its own write (updateTag is for Server Actions only)
export function problemsChanged() {
  updateTag('problems')
}""",
        f"{NEXT_16}/api-reference/functions/updateTag",
        "updateTag, Next.js 16",
    ),
    "unstable_cache": Sample(
        "Next.js 14",
        "app/lib/search.ts",
        """\
import { unstable_cache } from 'next/cache'
import { db } from '@/lib/db'

// kept by its arguments (q) and the key parts, until revalidateTag('problems')
export const searchProblems = unstable_cache(
  async (q: string) =>
    db.problem.findMany({
      where: { name: { contains: q, mode: 'insensitive' } },
    }),
  ['search-problems'],
  { tags: ['problems'] },
)""",
        f"{NEXT_14}/api-reference/functions/unstable_cache",
        "unstable_cache, Next.js 14",
    ),
    "use_cache": Sample(
        "Next.js 16",
        "app/lib/search.ts (cacheComponents: true)",
        """\
import { cacheLife, cacheTag } from 'next/cache'
import { db } from '@/lib/db'

export async function searchProblems(q: string) {
  'use cache'
  cacheTag('problems')
  cacheLife('hours')
  return db.problem.findMany({
    where: { name: { contains: q, mode: 'insensitive' } },
  })
}""",
        f"{NEXT_16}/api-reference/directives/use-cache",
        "use cache, Next.js 16",
    ),
    "allowed_origins": Sample(
        "Next.js 14",
        "next.config.js",
        """\
/** @type {import('next').NextConfig} */
module.exports = {
  experimental: {
    serverActions: {
      // hosts besides this one whose pages may call its Server Actions
      allowedOrigins: ['proxy.example.com', '*.proxy.example.com'],
    },
  },
}""",
        f"{NEXT_14}/api-reference/next-config-js/serverActions",
        "serverActions, Next.js 14",
    ),
    "revalidate_route": Sample(
        "Next.js 16",
        "app/api/revalidate/route.ts",
        """\
import { revalidatePath, revalidateTag } from 'next/cache'

export async function POST(request: Request) {
  // checking who calls is left to you
  const { paths = [], tags = [] } = await request.json()
  for (const path of paths) revalidatePath(path)
  for (const tag of tags) revalidateTag(tag, 'max')
  return Response.json({ revalidated: true })
}""",
        f"{NEXT_16}/api-reference/functions/revalidateTag",
        "revalidateTag, Next.js 16",
    ),
    "cached": Sample(
        "Flask-Caching 2",
        "app.py: @cache.cached() on a view",
        """\
from flask import Flask, request
from flask_caching import Cache

from .models import Problem, db

app = Flask(__name__)
cache = Cache(app, config={"CACHE_TYPE": "RedisCache",
                           "CACHE_REDIS_URL": "redis://localhost:6379/0"})


@app.get("/api/problems")
@cache.cached(timeout=300)  # key: "view/" + request.path; the query string is ignored
def problem_list():
    return [problem.to_dict() for problem in db.session.scalars(db.select(Problem))]


@app.post("/api/problems")
def problem_create():
    problem = Problem(name=request.json["name"])
    db.session.add(problem)
    db.session.commit()
    cache.delete("view//api/problems")  # every other key that shows it: by hand
    return problem.to_dict(), 201""",
        "https://flask-caching.readthedocs.io/en/latest/#caching-view-functions",
        "Caching View Functions, Flask-Caching",
    ),
    "memoize": Sample(
        "Flask-Caching 2",
        "app.py: @cache.memoize() on a function",
        """\
@cache.memoize(timeout=300)  # key: the function and its arguments
def search(q: str, limit: int = 20) -> list[dict]:
    found = db.select(Problem).where(Problem.name.icontains(q)).limit(limit)
    return [problem.to_dict() for problem in db.session.scalars(found)]


@app.get("/api/search")
def problem_search():
    return search(request.args["q"], request.args.get("limit", 20, type=int))


# after any write to a problem, beside the deletes above:
cache.delete_memoized(search)  # all of its results (a new version of the function)
# cache.delete_memoized(search, "tree")  # or those of one call""",
        "https://flask-caching.readthedocs.io/en/latest/#memoization",
        "Memoization, Flask-Caching",
    ),
}
