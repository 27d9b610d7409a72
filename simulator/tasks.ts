/**
 * Asynchronous operations (DSP0266 "Asynchronous operations"): an action
 * answers 202 Accepted with `Location: <task monitor>`; GET on the monitor
 * answers 202 while the task runs and 200 with the completed Task afterwards.
 * The Task itself is also a resource under /redfish/v1/TaskService/Tasks.
 *
 * A task runs for at least RUNNING_POLLS polls of its monitor and until the
 * system's power transition has finished, so a client that stops at the first
 * 202 sees the power state still moving.
 */
import { mockups } from "./mockups";
import { errorReply, msg, type Json, type JsonObject, type Reply } from "./redfish";
import type { SimSystem } from "./system";

const TASKS = "/redfish/v1/TaskService/Tasks";
const MONITORS = "/redfish/v1/TaskService/TaskMonitors";
export const RUNNING_POLLS = 2;

interface Task {
  id: string;
  systemIndex: number;
  polls: number;
  started: string;
  ended?: string;
}

export class TaskList {
  private readonly tasks = new Map<string, Task>();
  private next = 1;

  /** Start a task for a reset of `system`: 202 with the monitor in Location. */
  start(systemIndex: number, system: SimSystem): Reply {
    const task: Task = { id: String(this.next++), systemIndex, polls: 0, started: new Date().toISOString() };
    this.tasks.set(task.id, task);
    return { status: 202, headers: { Location: `${MONITORS}/${task.id}` }, body: this.resource(task, system) };
  }

  /** GET of the task service, the task collection, a task or a task monitor; undefined when not ours. */
  route(method: string, path: string, system: (index: number) => SimSystem): Reply | undefined {
    if (method !== "GET") {
      if (path.startsWith("/redfish/v1/TaskService")) return { ...errorReply(405, msg.operationNotAllowed()), headers: { Allow: "GET, HEAD" } };
      return undefined;
    }
    if (path === "/redfish/v1/TaskService") return { status: 200, body: mockups.taskService() };
    if (path === TASKS) {
      const members = [...this.tasks.keys()].map((id): Json => ({ "@odata.id": `${TASKS}/${id}` }));
      return { status: 200, body: { "@odata.type": "#TaskCollection.TaskCollection", "@odata.id": TASKS, Name: "Task Collection", "Members@odata.count": members.length, Members: members } };
    }
    if (path.startsWith(`${TASKS}/`)) {
      const task = this.tasks.get(path.slice(TASKS.length + 1));
      if (!task) return undefined;
      task.polls++; // polling the Task instead of its monitor also moves it on
      return { status: 200, body: this.resource(task, system(task.systemIndex)) };
    }
    if (path.startsWith(`${MONITORS}/`)) {
      const task = this.tasks.get(path.slice(MONITORS.length + 1));
      if (!task) return undefined;
      const sys = system(task.systemIndex);
      task.polls++;
      const body = this.resource(task, sys);
      if (body.TaskState === "Running") return { status: 202, headers: { Location: `${MONITORS}/${task.id}` }, body };
      return { status: 200, body };
    }
    return undefined;
  }

  private resource(task: Task, sys: SimSystem): JsonObject {
    const done = task.ended !== undefined || (task.polls > RUNNING_POLLS && !sys.transitioning);
    if (done && !task.ended) task.ended = new Date().toISOString();
    const doc = mockups.task();
    doc["@odata.id"] = `${TASKS}/${task.id}`;
    doc.Id = task.id;
    doc.Name = `Task ${task.id}`;
    doc.TaskState = done ? "Completed" : "Running";
    doc.TaskStatus = "OK";
    doc.PercentComplete = done ? 100 : 50;
    doc.StartTime = task.started;
    if (task.ended) doc.EndTime = task.ended;
    else delete doc.EndTime;
    doc.TaskMonitor = `${MONITORS}/${task.id}`;
    doc.Messages = done ? [msg.taskStarted(task.id), msg.taskCompleted(task.id)] : [msg.taskStarted(task.id)];
    return doc;
  }
}
